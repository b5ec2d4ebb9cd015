/**
 * The `telemetry` config section: OpenTelemetry traces of turns, sent as OTLP over HTTP (JSON) to a
 * collector (the OpenTelemetry Collector, Jaeger, Tempo, …). Absent: no traces are built or sent.
 */
import { type Static, Type } from "./schema.ts"

export const Telemetry = Type.Object(
  {
    otlpEndpoint: Type.String({
      pattern: "^https?://",
      description:
        "OTLP/HTTP base URL of the collector, e.g. http://127.0.0.1:4318 (traces go to <base>/v1/traces, JSON)",
    }),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: "Extra request headers (an API key of a hosted collector; prefer a local collector)",
      }),
    ),
    serviceName: Type.Optional(Type.String({ default: "drost", description: "service.name of the traces" })),
  },
  { additionalProperties: false },
)
export type Telemetry = Static<typeof Telemetry>
