/**
 * Probes for process supervisors (Kubernetes, systemd, load balancers), all public:
 * - `/livez`: the process serves HTTP. Always 200 while it does, whatever the gateway's state, so a
 *   liveness probe never restarts a gateway that works but has one channel or provider down.
 * - `/readyz`: whether to send it work (200 running, 503 degraded, starting, stopping or stopped, with
 *   the reasons).
 * - `/healthz`: the same answer as `/readyz`, kept under its old name for existing checks.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import { described } from "./schemas.ts"

const State = t.Union(
  [t.Literal("starting"), t.Literal("running"), t.Literal("degraded"), t.Literal("stopping"), t.Literal("stopped")],
  { description: "The gateway's state (degraded: see reasons)" },
)
const Ready = t.Object(
  { state: State, reasons: t.Array(t.String(), { description: "One line per unhealthy component" }) },
  { examples: [{ state: "degraded", reasons: ["channel telegram:main: getUpdates failed: 502"] }] },
)
const Live = t.Object(
  {
    live: t.Literal(true),
    state: State,
    uptimeMs: t.Number({ description: "Since the gateway started" }),
  },
  { examples: [{ live: true, state: "degraded", uptimeMs: 5123 }] },
)

export const PROBES = ["/livez", "/readyz"] as const

export function healthRoutes(gw: Gateway) {
  /** One answer for `/readyz` and `/healthz`. */
  const readiness = ({ set }: { set: { status?: number | string } }) => {
    const health = gw.state()
    set.status = health.state === "running" ? 200 : 503
    return health
  }
  return new Elysia()
    .get("/livez", () => ({ live: true as const, state: gw.state().state, uptimeMs: Date.now() - gw.startedAt }), {
      response: { 200: described(Live, "The process serves HTTP (whatever the gateway's state)") },
      detail: {
        operationId: "live",
        tags: ["runtime"],
        summary: "Liveness",
        description:
          "200 whenever the process serves, degraded or not: use it for liveness probes (restart only when this fails). No token needed.",
        security: [],
      },
    })
    .get("/readyz", readiness, {
      response: {
        200: described(Ready, "Running: send it work"),
        503: described(Ready, "Degraded, starting, stopping or stopped; `reasons` says why"),
      },
      detail: {
        operationId: "ready",
        tags: ["runtime"],
        summary: "Readiness",
        description:
          "200 when running; 503 when degraded (a channel or provider down, …), starting, stopping or stopped, with the reasons. The same answer as /healthz. No token needed.",
        security: [],
      },
    })
    .get("/healthz", readiness, {
      response: {
        200: described(Ready, "Running"),
        503: described(Ready, "Degraded, starting, stopping or stopped; `reasons` says why"),
      },
      detail: {
        operationId: "health",
        tags: ["runtime"],
        summary: "Health (the same answer as /readyz)",
        description:
          "200 when running; 503 when degraded, starting, stopping or stopped, with the reasons: what /readyz answers, under the name existing checks use. For a liveness probe use /livez. No token needed.",
        security: [],
      },
    })
}
