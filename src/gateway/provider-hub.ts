/**
 * The gateway's providers: builds one adapter per profile with credentials from auth profiles or the
 * environment, wraps each in the failover router, keeps the last probe result, and reports status
 * (availability, auth source, cooldown, attempts, usage and cost) for `/providers`, the Control API
 * and `drost providers`.
 */
import type { Config, Profile } from "../core/config.ts"
import type { Usage } from "../core/message.ts"
import type { Provider } from "../core/provider.ts"
import { type ProbeResult, probeAll } from "../providers/probe.ts"
import { createProvider } from "../providers/registry.ts"
import { createRouter, type Router } from "../providers/router.ts"
import { createCredentials } from "./auth.ts"

export interface ProviderStatus {
  id: string
  kind: string
  model: string | null
  available: boolean
  /** Why the profile could not be built, when it could not. */
  error: string | null
  /** Where the credential comes from (never the credential): `auth profile "x"`, `env NAME`, `missing`. */
  auth: string
  fallback: boolean
  cooldown: { kind: string; reason: string; status?: number; until: number; remainingMs: number } | null
  attempts: number
  failures: number
  lastError: { kind: string; message: string; at: number } | null
  lastOk: number | null
  probe: ProbeResult | null
  /** Tokens of stored steps this profile served, and their cost when the profile has prices. */
  usage: Usage
  costUsd: number | null
}

export type ProviderHub = ReturnType<typeof createProviderHub>

export function cost(profile: Profile, usage: Usage): number | null {
  if (!profile.prices) return null
  const { input, output, cached = profile.prices.input } = profile.prices
  const fresh = Math.max(0, usage.input - usage.cached)
  return Math.round(((fresh * input + usage.cached * cached + usage.output * output) / 1_000_000) * 1e6) / 1e6
}

export function createProviderHub(config: Config, onProblem: (id: string, problem: string) => void) {
  const credentials = createCredentials(config.stateDir)
  const providers = new Map<string, Provider>()
  const problems = new Map<string, string>()
  for (const profile of config.providers.profiles) {
    try {
      providers.set(profile.id, createProvider(profile, { credential: credentials.resolve }))
    } catch (error) {
      problems.set(profile.id, (error as Error).message)
      onProblem(profile.id, (error as Error).message)
    }
  }
  const router: Router = createRouter({ providers, failover: () => config.providers.failover })
  /** What the sessions service runs: every profile behind the failover router. */
  const routed = new Map([...providers.keys()].map((id) => [id, router.route(id)]))
  const probes = new Map<string, ProbeResult>()

  return {
    providers,
    routed,
    router,
    credentials,
    status(usage: Record<string, Usage> = {}): ProviderStatus[] {
      const fallbacks = new Set(config.providers.failover.fallbacks)
      return config.providers.profiles.map((profile) => {
        const live = providers.get(profile.id)
        const cooldown = router.cooldown(profile.id)
        const stats = router.stats(profile.id)
        const used = usage[profile.id] ?? { input: 0, output: 0, cached: 0 }
        return {
          id: profile.id,
          kind: profile.kind,
          model: live?.model ?? profile.model ?? null,
          available: Boolean(live),
          error: problems.get(profile.id) ?? null,
          auth: credentials.source(profile),
          fallback: fallbacks.has(profile.id),
          cooldown: cooldown
            ? {
                kind: cooldown.kind,
                reason: cooldown.reason,
                ...(cooldown.status ? { status: cooldown.status } : {}),
                until: cooldown.until,
                remainingMs: Math.max(0, cooldown.until - Date.now()),
              }
            : null,
          attempts: stats.attempts,
          failures: stats.failures,
          lastError: stats.lastError,
          lastOk: stats.lastOk,
          probe: probes.get(profile.id) ?? null,
          usage: used,
          costUsd: cost(profile, used),
        }
      })
    },
    async probe(timeoutMs: number): Promise<ProbeResult[]> {
      const results = await probeAll(config.providers.profiles, credentials.resolve, timeoutMs)
      for (const result of results) probes.set(result.id, result)
      return results
    },
  }
}
