/**
 * `GET /metrics`: the gateway's metrics in the Prometheus text format (src/metrics), for a scraper
 * holding the read (or admin) token. Outside /control/v1 because that is where scrapers look by default;
 * app.ts guards it like the Control API.
 */
import { Elysia } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import { createMetrics } from "../metrics/metrics.ts"

export const METRICS_PATH = "/metrics"

/**
 * The server's set of things to close at stop holds more than event streams (the MCP server's closer
 * too), so the event streams are counted on their own: a set that forwards to the server's and knows
 * its own size.
 */
export class StreamSet extends Set<() => void> {
  constructor(private readonly parent: Set<() => void>) {
    super()
  }
  override add(close: () => void): this {
    this.parent.add(close)
    return super.add(close)
  }
  override delete(close: () => void): boolean {
    this.parent.delete(close)
    return super.delete(close)
  }
}

export function metricsRoutes(gw: Gateway, sseStreams: () => number) {
  const metrics = createMetrics(gw, { sseStreams })
  return new Elysia().get(
    METRICS_PATH,
    async () => new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } }),
    {
      detail: {
        operationId: "getMetrics",
        tags: ["runtime"],
        summary: "Prometheus metrics",
        description:
          "Counters and histograms since the gateway started (turns by outcome, turn and model-call durations and tokens and cost per provider profile, tool calls by tool and outcome, attempts, retries and failovers, approvals, background jobs) and gauges read now (queue depth, running turns, SSE streams, component and channel health, pending approvals, running jobs, memory, event-loop lag), in the Prometheus text format 0.0.4. Needs the read or admin token (Prometheus: `authorization: { credentials_file: … }`); see docs/operations.md.",
        responses: {
          200: {
            description: "Prometheus text exposition format (text/plain; version=0.0.4)",
            content: {
              "text/plain": {
                schema: { type: "string" },
                example:
                  '# HELP drost_turns_total Turns that ended, by outcome (completed, failed, interrupted)\n# TYPE drost_turns_total counter\ndrost_turns_total{outcome="completed"} 3\n',
              },
            },
          },
        },
      },
    },
  )
}
