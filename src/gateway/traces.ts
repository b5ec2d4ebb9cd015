/**
 * OpenTelemetry traces of turns (config `telemetry`), built from the bus events: one trace per turn,
 * its root span from `session.turn.started` to the turn's end, a child span per model call (an attempt
 * of a provider profile: `provider.attempt` or `provider.request` to `provider.response`, or to the
 * failure that ended it) and per tool call (`tool.call.started` to `tool.call.completed`). When the
 * turn ends, its spans go to the collector in one OTLP/HTTP JSON request (`POST <base>/v1/traces`).
 *
 * Sending never blocks or fails a turn: a request that fails or takes over 10 s is logged and dropped.
 * Span attributes carry ids, names and numbers only; no message text, tool arguments or output.
 */
import { ProviderEvent, ToolEvent, TurnEvent } from "../agent/events.ts"
import type { Bus } from "../bus/bus.ts"
import type { Telemetry } from "../core/telemetry-config.ts"
import type { Logger } from "../util/log.ts"
import { VERSION } from "../util/version.ts"

type Value = { stringValue: string } | { intValue: string } | { boolValue: boolean }
interface Attribute {
  key: string
  value: Value
}

/** One span as OTLP's JSON encoding writes it (ids in hex, times as decimal strings of nanoseconds). */
export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  /** 1 internal, 3 client. */
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: Attribute[]
  /** 1 ok, 2 error. */
  status: { code: number; message?: string }
}

interface Open {
  name: string
  kind: number
  spanId: string
  start: number
  attributes: Attribute[]
}

interface TurnTrace {
  traceId: string
  root: Open
  spans: OtlpSpan[]
  /** Open model call per step, open tool call per call id. */
  models: Map<number, Open>
  tools: Map<string, Open>
}

const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0")).join("")
const nanos = (ms: number) => `${Math.round(ms)}000000`
const attr = (key: string, value: string | number | boolean): Attribute => ({
  key,
  value:
    typeof value === "string"
      ? { stringValue: value }
      : typeof value === "number"
        ? { intValue: String(Math.round(value)) }
        : { boolValue: value },
})

export function startTraces(deps: { bus: Bus; settings: Telemetry; log: Logger }) {
  const { bus, settings, log } = deps
  const url = `${settings.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`
  const turns = new Map<string, TurnTrace>()
  const pending = new Set<Promise<void>>()

  const close = (trace: TurnTrace, open: Open, end: number, error: string | null, extra: Attribute[] = []) => {
    trace.spans.push({
      traceId: trace.traceId,
      spanId: open.spanId,
      ...(open === trace.root ? {} : { parentSpanId: trace.root.spanId }),
      name: open.name,
      kind: open.kind,
      startTimeUnixNano: nanos(open.start),
      endTimeUnixNano: nanos(Math.max(end, open.start)),
      attributes: [...open.attributes, ...extra],
      status: error === null ? { code: 1 } : { code: 2, message: error.slice(0, 500) },
    })
  }
  const model = (trace: TurnTrace, time: number, step: number, provider: string, modelName: string) => {
    const open: Open = {
      name: `model ${provider}`,
      kind: 3,
      spanId: hex(8),
      start: time,
      attributes: [attr("drost.provider", provider), attr("gen_ai.request.model", modelName), attr("drost.step", step)],
    }
    trace.models.set(step, open)
    return open
  }

  const send = (trace: TurnTrace) => {
    const body = {
      resourceSpans: [
        {
          resource: {
            attributes: [attr("service.name", settings.serviceName ?? "drost"), attr("service.version", VERSION)],
          },
          scopeSpans: [{ scope: { name: "drost", version: VERSION }, spans: trace.spans }],
        },
      ],
    }
    const sent = fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...settings.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        if (!res.ok) log.warn("OTLP export refused", { status: res.status, body: (await res.text()).slice(0, 200) })
      })
      .catch((error) => log.warn("OTLP export failed", { error: String(error) }))
      .finally(() => pending.delete(sent))
    pending.add(sent)
  }

  const end = (turnId: string, time: number, error: string | null, extra: Attribute[] = []) => {
    const trace = turns.get(turnId)
    if (!trace) return
    turns.delete(turnId)
    const why = error ?? "the turn ended first"
    for (const open of trace.models.values()) close(trace, open, time, why)
    for (const open of trace.tools.values()) close(trace, open, time, why)
    close(trace, trace.root, time, error, extra)
    send(trace)
  }

  const stops = [
    bus.subscribe(TurnEvent.Started, ({ time, data }) =>
      turns.set(data.turnId, {
        traceId: hex(16),
        root: {
          name: "turn",
          kind: 1,
          spanId: hex(8),
          start: time,
          attributes: [
            attr("drost.session", data.sessionId),
            attr("drost.turn", data.turnId),
            attr("drost.provider", data.provider),
          ],
        },
        spans: [],
        models: new Map(),
        tools: new Map(),
      }),
    ),
    bus.subscribe(ProviderEvent.Request, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      if (trace) model(trace, time, data.step, data.provider, data.model)
    }),
    bus.subscribe(ProviderEvent.Attempt, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      if (!trace) return
      const open = trace.models.get(data.step)
      // The first attempt continues the request's span; a later one (failover, retry) is a new call.
      if (open && !open.attributes.some((each) => each.key === "drost.attempt")) {
        open.name = `model ${data.provider}`
        open.attributes = [
          attr("drost.provider", data.provider),
          attr("gen_ai.request.model", data.model),
          attr("drost.step", data.step),
          attr("drost.attempt", data.attempt),
        ]
        return
      }
      model(trace, time, data.step, data.provider, data.model).attributes.push(attr("drost.attempt", data.attempt))
    }),
    bus.subscribe(ProviderEvent.AttemptFailed, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      const open = trace?.models.get(data.step)
      if (!trace || !open) return
      trace.models.delete(data.step)
      close(trace, open, time, `${data.kind}: ${data.message}`, [attr("drost.error.kind", data.kind)])
    }),
    bus.subscribe(ProviderEvent.Response, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      const open = trace?.models.get(data.step)
      if (!trace || !open) return
      trace.models.delete(data.step)
      close(trace, open, time, null, [
        attr("gen_ai.usage.input_tokens", data.usage.input),
        attr("gen_ai.usage.output_tokens", data.usage.output),
        attr("drost.stop", data.stop),
      ])
    }),
    bus.subscribe(ProviderEvent.Error, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      const open = trace?.models.get(data.step)
      if (!trace || !open) return
      trace.models.delete(data.step)
      close(trace, open, time, `${data.kind}: ${data.message}`, [attr("drost.error.kind", data.kind)])
    }),
    bus.subscribe(ToolEvent.Started, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      if (!trace) return
      trace.tools.set(data.callId, {
        name: `tool ${data.name}`,
        kind: 1,
        spanId: hex(8),
        start: time,
        attributes: [attr("drost.tool", data.name), attr("drost.call", data.callId)],
      })
    }),
    bus.subscribe(ToolEvent.Completed, ({ time, data }) => {
      const trace = turns.get(data.turnId)
      const open = trace?.tools.get(data.callId)
      if (!trace || !open) return
      trace.tools.delete(data.callId)
      close(trace, open, time, data.isError ? "the tool returned an error" : null)
    }),
    bus.subscribe(TurnEvent.Completed, ({ time, data }) =>
      end(data.turnId, time, null, [attr("drost.steps", data.steps), attr("drost.tool_calls", data.toolCalls)]),
    ),
    bus.subscribe(TurnEvent.Failed, ({ time, data }) => end(data.turnId, time, data.reason)),
    bus.subscribe(TurnEvent.Interrupted, ({ time, data }) => end(data.turnId, time, data.reason)),
  ]

  return {
    /** Stop listening; exports still in flight finish (or time out) on their own. */
    stop() {
      for (const stop of stops) stop()
      turns.clear()
    },
    /** Resolves when every export started so far has ended (tests, shutdown). */
    flush: () => Promise.allSettled([...pending]).then(() => undefined),
  }
}
