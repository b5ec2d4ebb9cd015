/**
 * The gateway's side of the supervisor protocol (IPC, see supervisor.ts): it announces readiness with
 * its URL, answers the health gate's canary request by running one real turn on the demo provider,
 * and hands the supervisor's verdicts to the evolution service. If the supervisor disappears (killed
 * with SIGKILL), the gateway goes with it at once rather than run on unsupervised holding the lock.
 */
import type { Gateway } from "../gateway/gateway.ts"

export type FromChild = { type: "ready"; pid: number; url: string | null } | { type: "canary"; ok: boolean; detail: string; durationMs: number }

export type ToChild =
  | { type: "canary" }
  | { type: "verdict"; id: string; ok: boolean; detail: string; durationMs: number }
  | { type: "healthy"; id: string; verdictAt: number; healthyAt: number }

const send = (message: FromChild) => process.send?.(message)

/** Call first thing in a supervised child: no supervisor, no gateway. */
export function followSupervisor() {
  if (!process.send) return
  process.on("disconnect", () => process.exit(1))
}

/** One turn through the whole loop (provider stream, a tool call, persistence) in a throwaway session. */
export async function canary(gw: Gateway): Promise<{ ok: boolean; detail: string; durationMs: number }> {
  const started = performance.now()
  const demo = gw.config.providers.profiles.find((profile) => profile.kind === "demo")
  if (!demo) return { ok: true, detail: "skipped: no demo provider profile is configured", durationMs: 0 }
  let sessionId: string | null = null
  try {
    const session = gw.sessions.create({ provider: demo.id, channel: "canary", title: "health gate canary" })
    sessionId = session.id
    const accepted = gw.sessions.prompt({ sessionId: session.id, text: "list files", source: "canary" })
    const result = await accepted.done
    const ok = result.status === "completed"
    return { ok, detail: ok ? `turn completed: ${result.text.slice(0, 80)}` : `turn ${result.status}: ${result.reason}`, durationMs: Math.round(performance.now() - started) }
  } catch (error) {
    return { ok: false, detail: (error as Error).message, durationMs: Math.round(performance.now() - started) }
  } finally {
    if (sessionId) gw.sessions.remove(sessionId)
  }
}

/** After the gateway is serving: announce readiness and answer the supervisor. */
export function serveSupervisor(gw: Gateway, url: string | null): () => void {
  if (!process.send) return () => {}
  const onMessage = async (message: ToChild) => {
    if (message.type === "canary") send({ type: "canary", ...(await canary(gw)) })
    else if (message.type === "verdict") gw.evolution.verdict(message)
    else if (message.type === "healthy") gw.evolution.healthy(message)
  }
  process.on("message", onMessage)
  send({ type: "ready", pid: process.pid, url })
  return () => process.off("message", onMessage)
}
