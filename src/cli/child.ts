/**
 * The gateway's side of the supervisor protocol (IPC, see supervisor.ts): it announces readiness with
 * its URL, answers the health gate's canary request by running one real turn on the demo provider,
 * and hands the supervisor's verdicts to the evolution service. If the supervisor disappears (killed
 * with SIGKILL), the gateway goes with it at once rather than run on unsupervised holding the lock.
 */
import type { Gateway } from "../gateway/gateway.ts"

export type FromChild =
  | { type: "ready"; pid: number; url: string | null }
  | { type: "canary"; ok: boolean; detail: string; durationMs: number }

export type ToChild =
  | { type: "canary" }
  | { type: "verdict"; id: string; ok: boolean; detail: string; durationMs: number }
  | { type: "healthy"; id: string; verdictAt: number; healthyAt: number }

const send = (message: FromChild) => process.send?.(message)

let stopRequested = false

/** True once the supervisor forwarded a stop signal (it may arrive before start() listens for it). */
export const stopSignalled = () => stopRequested

/** Call first thing in a supervised child: no supervisor, no gateway. */
export function followSupervisor() {
  if (!process.send) return
  // Until start() installs its own handlers, a forwarded SIGTERM must not kill us with the default action.
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    process.on(signal, () => {
      stopRequested = true
    })
  // Die like the supervisor did (no drain, no exit handlers): open turns are recovered at the next start,
  // and the lock's pid is dead at once, so a new `drost start` can take the workspace over.
  const die = () => process.kill(process.pid, "SIGKILL")
  process.on("disconnect", die)
  // Belt and braces: IPC disconnect is fast (~5 ms) but an orphan is also visible as a changed parent.
  const parent = process.ppid
  setInterval(() => process.ppid !== parent && die(), 250).unref()
}

/** One turn through the whole loop (provider stream, a tool call, persistence) in a throwaway session. */
export async function canary(gw: Gateway): Promise<{ ok: boolean; detail: string; durationMs: number }> {
  const started = performance.now()
  const demo = gw.config.providers.profiles.find((profile) => profile.kind === "demo")
  if (!demo) return { ok: true, detail: "skipped: no demo provider profile is configured", durationMs: 0 }
  let sessionId: string | null = null
  try {
    const session = await gw.sessions.create({ provider: demo.id, channel: "canary", title: "health gate canary" })
    sessionId = session.id
    const accepted = await gw.sessions.prompt({ sessionId: session.id, text: "list files", source: "canary" })
    const result = await accepted.done
    const ok = result.status === "completed"
    return {
      ok,
      detail: ok ? `turn completed: ${result.text.slice(0, 80)}` : `turn ${result.status}: ${result.reason}`,
      durationMs: Math.round(performance.now() - started),
    }
  } catch (error) {
    return { ok: false, detail: (error as Error).message, durationMs: Math.round(performance.now() - started) }
  } finally {
    if (sessionId) await gw.sessions.remove(sessionId)
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
