/**
 * The gateway's providers: builds one adapter per profile with credentials from auth profiles or the
 * environment, wraps each in the failover router, keeps the last probe result, and reports status
 * (availability, auth source, cooldown, attempts, usage and cost) for `/providers`, the Control API
 * and `drost providers`.
 */
import type { Config, Profile } from "../core/config.ts"
import type { Usage } from "../core/message.ts"
import type { Provider, StreamEvent } from "../core/provider.ts"
import type { CredentialResolver } from "../providers/credential.ts"
import { type ProbeResult, probeAll } from "../providers/probe.ts"
import { createProvider, UnsupportedProvider } from "../providers/registry.ts"
import { createRouter, type Router } from "../providers/router.ts"
import { createCredentials } from "./auth.ts"

/** A profile the gateway cannot build an adapter for: why, and what to change. */
export interface ProfileProblem {
  message: string
  fix: string
}

function fixFor(profile: Profile, index: number, error: unknown): string {
  const at = `providers.profiles[${index}]`
  if (profile.kind === "plugin")
    return `install and list the plugin (plugins in the config; /status says why it did not load), or change ${at}.plugin`
  if (error instanceof UnsupportedProvider && !profile.baseUrl && profile.kind === "openai-compatible")
    return `set ${at}.baseUrl to the server's API root (e.g. http://127.0.0.1:8000/v1), or run drost setup`
  if (error instanceof UnsupportedProvider)
    return `use another kind in ${at} (openai, anthropic, xai, openai-compatible or demo), or run drost setup`
  if (!profile.model)
    return `set ${at}.model to one of the models the server lists (GET ${profile.baseUrl ?? "<baseUrl>"}/models; drost setup picks from that list)`
  return `correct ${at} (drost doctor checks it), or run drost setup`
}

/**
 * An `openai-compatible` profile without a model that `voice` names serves the audio endpoints only
 * (a local whisper or speech server): it gets no chat adapter, and that is not a problem.
 */
export function audioOnly(config: Config, profile: Profile): boolean {
  const voice = config.voice
  return (
    profile.kind === "openai-compatible" &&
    !profile.model &&
    (voice?.transcribe?.profile === profile.id || voice?.speak?.profile === profile.id)
  )
}

/**
 * What `drost start` does with each configured profile, and what `drost doctor` checks: the same call,
 * so a config doctor passes never starts without its providers. Returns the adapters that could be built
 * and, for the others, the reason and the fix.
 */
export function buildProviders(
  config: Config,
  credential: CredentialResolver,
  /** Plugin providers (the gateway's loaded plugins); without it (drost doctor) plugin profiles are left out. */
  plugin?: (profile: Profile) => Provider,
): { providers: Map<string, Provider>; problems: Map<string, ProfileProblem> } {
  const providers = new Map<string, Provider>()
  const problems = new Map<string, ProfileProblem>()
  for (const [index, profile] of config.providers.profiles.entries()) {
    if (audioOnly(config, profile)) continue
    if (profile.kind === "plugin" && !plugin) continue
    try {
      providers.set(profile.id, createProvider(profile, { credential, plugin }))
    } catch (error) {
      problems.set(profile.id, { message: (error as Error).message, fix: fixFor(profile, index, error) })
    }
  }
  return { providers, problems }
}

/**
 * Stands in for a profile that could not be built, so a session on it (the default one, often) can be
 * created and its turns answer with the reason and the fix instead of the chat failing to start. With
 * failover on and a usable fallback, the step fails over like any failed attempt.
 */
function unavailable(profile: Profile, problem: ProfileProblem, fallback: () => Provider | null): Provider {
  const message = `provider "${profile.id}" is not usable: ${problem.message}. Fix: ${problem.fix}; then restart (drost doctor checks it). Or switch this session with /provider <id>.`
  return {
    id: profile.id,
    kind: profile.kind,
    model: profile.model ?? "",
    async *stream(request, signal): AsyncGenerator<StreamEvent> {
      const next = fallback()
      if (!next) {
        yield { type: "error", kind: "unavailable", message }
        return
      }
      yield {
        type: "attempt-failed",
        provider: profile.id,
        model: profile.model ?? "",
        kind: "unavailable",
        message,
        cooldownMs: 0,
        partial: false,
      }
      yield* next.stream(request, signal)
    },
  }
}

function voiceOnly(config: Config, profile: Profile): ProfileProblem {
  const index = config.providers.profiles.indexOf(profile)
  return {
    message: "it has no chat model: it serves voice only (voice.transcribe / voice.speak)",
    fix: `set providers.profiles[${index}].model to a chat model the server lists to chat with it too`,
  }
}

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

export function createProviderHub(
  config: Config,
  onProblem: (id: string, problem: string) => void,
  plugin?: (profile: Profile) => Provider,
) {
  const credentials = createCredentials(config.stateDir)
  const { providers, problems } = buildProviders(config, credentials.resolve, plugin)
  for (const [id, problem] of problems) onProblem(id, `${problem.message} (fix: ${problem.fix})`)
  const router: Router = createRouter({ providers, failover: () => config.providers.failover })
  /**
   * What the sessions service runs: every profile behind the failover router; a profile that could not
   * be built answers each turn with its problem and fix.
   */
  const routed = new Map(
    config.providers.profiles.map((profile): [string, Provider] => [
      profile.id,
      providers.has(profile.id)
        ? router.route(profile.id)
        : unavailable(profile, problems.get(profile.id) ?? voiceOnly(config, profile), () => {
            const { enabled, fallbacks } = config.providers.failover
            const id = enabled ? fallbacks.find((candidate) => providers.has(candidate)) : undefined
            return id ? router.route(id) : null
          }),
    ]),
  )
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
          error: problems.get(profile.id)?.message ?? null,
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
