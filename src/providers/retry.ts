/**
 * Retrying the same provider before failing over. With one provider configured (the default) a
 * single 429, 5xx or reset used to fail the turn; most of those are over in a second or two. Bounded
 * tries with jittered exponential backoff, honouring Retry-After up to a cap: a provider asking for
 * longer than that is cooled down and failed over (or the step fails) at once rather than holding the
 * turn.
 */
import type { FailoverConfig } from "../core/config.ts"
import type { FailureKind } from "../core/provider.ts"

export interface RetryPolicy {
  /** Extra tries on the same provider (0: none). */
  attempts: number
  baseMs: number
  maxDelayMs: number
}

export const RETRY_DEFAULTS: RetryPolicy = { attempts: 2, baseMs: 500, maxDelayMs: 10_000 }

/**
 * Classes worth another try on the same provider. Not `timeout` (the provider already had its full
 * deadline), not `auth`/`invalid` (the same request fails the same way), `overload` yes: the deadline
 * was missed because of our own loop, the provider is fine.
 */
export const RETRIES: ReadonlySet<FailureKind> = new Set(["rate_limit", "server", "network", "stream", "overload"])

export function retryPolicy(config: FailoverConfig): RetryPolicy {
  return { ...RETRY_DEFAULTS, ...config.retry }
}

/**
 * The pause before try `n + 1` (n ≥ 1 tries failed), or null when there is no retry: the budget is
 * spent, the class is not retried, or Retry-After asks for longer than `maxDelayMs`.
 */
export function retryDelay(
  policy: RetryPolicy,
  kind: FailureKind,
  n: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | null {
  if (!RETRIES.has(kind) || n > policy.attempts) return null
  if (retryAfterMs !== undefined) return retryAfterMs > policy.maxDelayMs ? null : Math.round(retryAfterMs)
  // "Equal jitter": between half and all of the exponential step, so retries of many turns spread out.
  const step = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** (n - 1))
  return Math.round(step / 2 + (random() * step) / 2)
}

/** Waits `ms` unless `signal` aborts first; true when the wait ran out. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop)
      resolve(true)
    }, ms)
    const stop = () => {
      clearTimeout(timer)
      resolve(false)
    }
    signal.addEventListener("abort", stop, { once: true })
  })
}
