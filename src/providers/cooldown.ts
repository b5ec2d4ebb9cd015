/**
 * Per-provider cooldowns after a failure, by failure class. A cooling provider is skipped while a
 * healthy candidate exists; a success clears its cooldown at once.
 */
import type { FailoverConfig } from "../core/config.ts"
import type { FailureKind } from "../core/provider.ts"

export interface Cooldown {
  kind: FailureKind
  reason: string
  status?: number
  since: number
  until: number
}

/** Classes that move on to the next candidate; `invalid` and `aborted` end the step at once. */
export const FAILS_OVER: ReadonlySet<FailureKind> = new Set([
  "auth",
  "rate_limit",
  "server",
  "timeout",
  "network",
  "stream",
  "unavailable",
  "unknown",
])

const DEFAULTS: Partial<Record<FailureKind, number>> = {
  auth: 600_000,
  server: 30_000,
  network: 30_000,
  stream: 15_000,
}

export function cooldownFor(config: FailoverConfig, kind: FailureKind, retryAfterMs?: number): number {
  if (!FAILS_OVER.has(kind)) return 0
  if (kind === "rate_limit" && retryAfterMs !== undefined) return retryAfterMs
  const own = config.cooldowns?.[kind as keyof NonNullable<FailoverConfig["cooldowns"]>]
  return own ?? DEFAULTS[kind] ?? config.cooldownMs
}

export class Cooldowns {
  private readonly entries = new Map<string, Cooldown>()

  constructor(private readonly now: () => number = Date.now) {}

  set(id: string, entry: Omit<Cooldown, "since" | "until">, ms: number) {
    if (ms <= 0) return
    const since = this.now()
    this.entries.set(id, { ...entry, since, until: since + ms })
  }

  clear(id: string) {
    this.entries.delete(id)
  }

  /** The active cooldown of a provider, or null (expired entries are dropped). */
  get(id: string): Cooldown | null {
    const entry = this.entries.get(id)
    if (!entry) return null
    if (entry.until <= this.now()) {
      this.entries.delete(id)
      return null
    }
    return entry
  }

  remainingMs(id: string): number {
    const entry = this.get(id)
    return entry ? entry.until - this.now() : 0
  }
}
