/**
 * Retries and failover. `route(primary)` is a Provider that tries the session's provider (again,
 * after a jittered backoff or the Retry-After it asked for, on a 429, 5xx, reset or broken stream:
 * retry.ts), then the configured fallbacks, skipping those cooling down after a recent failure (they are still tried, soonest
 * expiry first, when nothing healthy is left). Retrying and failover live here and only here: the
 * adapters make exactly one request and classify its failure.
 *
 * Every attempt is announced with an `attempt` event; a failed one yields `attempt-failed` (with
 * `retryInMs` when the same provider is tried again), which tells the loop to void what it streamed so
 * channels never show text twice. An `overload` failure (our own loop missed the deadline) is retried
 * but never cools the provider down, never fails over and is not counted in its failures.
 */
import type { FailoverConfig } from "../core/config.ts"
import type { ChatRequest, Provider, StreamEvent } from "../core/provider.ts"
import { redactText } from "../util/redact.ts"
import { type Cooldown, Cooldowns, cooldownFor, FAILS_OVER } from "./cooldown.ts"
import { pause, retryDelay, retryPolicy } from "./retry.ts"

export interface RouterOptions {
  providers: Map<string, Provider>
  failover: () => FailoverConfig
  now?: () => number
  /** Jitter source for retry backoff (tests pin it). */
  random?: () => number
}

export interface RouteStats {
  attempts: number
  failures: number
  lastError: { kind: string; message: string; at: number } | null
  lastOk: number | null
}

export type Router = ReturnType<typeof createRouter>

export function createRouter(options: RouterOptions) {
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const cooldowns = new Cooldowns(now)
  const stats = new Map<string, RouteStats>()
  const statsOf = (id: string) => {
    let entry = stats.get(id)
    if (!entry) {
      entry = { attempts: 0, failures: 0, lastError: null, lastOk: null }
      stats.set(id, entry)
    }
    return entry
  }

  /** The order of candidates for a step starting now. */
  function plan(primary: string): string[] {
    const config = options.failover()
    const all = [primary, ...(config.enabled ? config.fallbacks : [])].filter(
      (id, index, list) => list.indexOf(id) === index && options.providers.has(id),
    )
    const healthy = all.filter((id) => !cooldowns.get(id))
    const cooling = all
      .filter((id) => cooldowns.get(id))
      .sort((a, b) => cooldowns.remainingMs(a) - cooldowns.remainingMs(b))
    return [...healthy, ...cooling]
  }

  async function* stream(primary: string, request: ChatRequest, signal: AbortSignal): AsyncGenerator<StreamEvent> {
    const order = plan(primary)
    if (order.length === 0) {
      yield { type: "error", kind: "unavailable", message: `provider "${primary}" is not available` }
      return
    }
    const retry = retryPolicy(options.failover())
    const failures: string[] = []
    let attempt = 0
    for (const [index, id] of order.entries()) {
      const provider = options.providers.get(id)!
      const entry = statsOf(id)
      for (let tries = 1; ; tries++) {
        entry.attempts++
        yield { type: "attempt", provider: id, model: provider.model, attempt: ++attempt }
        let partial = false
        let terminal: Extract<StreamEvent, { type: "done" | "error" }> | null = null
        try {
          for await (const event of provider.stream(request, signal)) {
            if (event.type === "done" || event.type === "error") {
              terminal = event
              break
            }
            if (event.type === "text" || event.type === "tool-call") partial = true
            yield event
          }
        } catch (error) {
          const message = redactText(error instanceof Error ? error.message : String(error))
          terminal = { type: "error", kind: "unknown", message }
        }
        terminal ??= { type: "error", kind: "stream", message: "the provider stream ended without a final event" }
        if (terminal.type === "done") {
          entry.lastOk = now()
          cooldowns.clear(id)
          yield terminal
          return
        }
        // A deadline missed because our own loop was blocked says nothing about the provider.
        const ours = terminal.kind === "overload"
        if (!ours) {
          entry.failures++
          entry.lastError = { kind: terminal.kind, message: terminal.message, at: now() }
        }
        const wait = signal.aborted ? null : retryDelay(retry, terminal.kind, tries, terminal.retryAfterMs, random)
        const failed = {
          type: "attempt-failed" as const,
          provider: id,
          model: provider.model,
          kind: terminal.kind,
          message: terminal.message,
          status: terminal.status,
          partial,
        }
        if (wait !== null) {
          // The same provider again; what it streamed is void (the loop discards it, as on failover).
          yield { ...failed, cooldownMs: 0, retryInMs: wait }
          if (!(await pause(wait, signal))) {
            yield { type: "error", kind: "aborted", message: String(signal.reason ?? "aborted") }
            return
          }
          continue
        }
        const ms = signal.aborted || ours ? 0 : cooldownFor(options.failover(), terminal.kind, terminal.retryAfterMs)
        cooldowns.set(id, { kind: terminal.kind, reason: terminal.message, status: terminal.status }, ms)
        const tried = tries > 1 ? ` (${tries} tries)` : ""
        failures.push(`${id}: ${terminal.kind}: ${terminal.message}${tried}`)
        const last = index === order.length - 1
        if (signal.aborted || ours || !FAILS_OVER.has(terminal.kind) || last) {
          if (failures.length > 1) yield { ...terminal, message: `all providers failed (${failures.join("; ")})` }
          else yield tries > 1 ? { ...terminal, message: `${terminal.message}${tried}` } : terminal
          return
        }
        yield { ...failed, cooldownMs: ms }
        break
      }
    }
  }

  return {
    /** A Provider that fails over from `primary`; it keeps the primary's id, kind and model. */
    route(primary: string): Provider {
      const base = options.providers.get(primary)!
      return {
        id: base.id,
        kind: base.kind,
        model: base.model,
        stream: (request, signal) => stream(primary, request, signal),
      }
    },
    cooldown: (id: string): Cooldown | null => cooldowns.get(id),
    clearCooldown: (id: string) => cooldowns.clear(id),
    stats: (id: string): RouteStats => ({ ...statsOf(id) }),
  }
}
