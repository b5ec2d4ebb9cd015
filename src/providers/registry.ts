/**
 * Builds a Provider from a configured profile. Each kind has one factory; adding a wire protocol means
 * adding one entry here.
 */
import type { Profile } from "../core/config.ts"
import type { Provider } from "../core/provider.ts"
import { createAnthropicProvider } from "./anthropic.ts"
import type { CredentialResolver } from "./credential.ts"
import { createDemoProvider } from "./demo.ts"
import { createChatProvider } from "./openai-chat.ts"
import { createResponsesProvider } from "./openai-responses.ts"
import { Secrets } from "../util/redact.ts"

export interface ProviderDeps {
  /** Resolve a credential (auth profile or env) for a profile; null when none is configured. */
  credential?: CredentialResolver
  /** Builds a `kind: "plugin"` profile's provider (the gateway's loaded plugins, src/plugins). */
  plugin?: (profile: Profile) => Provider
}

type Factory = (profile: Profile, deps: ProviderDeps) => Provider

export const OPENAI_BASE_URL = "https://api.openai.com/v1"
export const XAI_BASE_URL = "https://api.x.ai/v1"
export const DEFAULT_MODELS: Partial<Record<Profile["kind"], string>> = {
  openai: "gpt-5",
  anthropic: "claude-sonnet-4-5",
  xai: "grok-4",
}

const none: CredentialResolver = () => null

const factories: Partial<Record<Profile["kind"], Factory>> = {
  demo: (profile) => createDemoProvider(profile),
  openai: (profile, deps) =>
    profile.api === "chat"
      ? createChatProvider(profile, deps.credential ?? none, { baseUrl: OPENAI_BASE_URL, model: DEFAULT_MODELS.openai })
      : createResponsesProvider(profile, deps.credential ?? none, {
          baseUrl: OPENAI_BASE_URL,
          model: DEFAULT_MODELS.openai!,
        }),
  anthropic: (profile, deps) => createAnthropicProvider(profile, deps.credential ?? none),
  "openai-compatible": (profile, deps) => {
    if (!profile.baseUrl)
      throw new UnsupportedProvider(`provider profile "${profile.id}" (openai-compatible) needs a baseUrl`)
    return createChatProvider(profile, deps.credential ?? none, { baseUrl: profile.baseUrl })
  },
  plugin: (profile, deps) => {
    if (!deps.plugin)
      throw new UnsupportedProvider(`provider profile "${profile.id}" is served by a plugin, and none is loaded here`)
    return deps.plugin(profile)
  },
  xai: (profile, deps) =>
    createChatProvider(profile, deps.credential ?? none, { baseUrl: XAI_BASE_URL, model: DEFAULT_MODELS.xai }),
}

export class UnsupportedProvider extends Error {}

/**
 * Every credential an adapter resolves is registered for exact-value redaction before the request is
 * sent, so a provider echoing it in an error (whatever its shape) never lands in a store, log or
 * answer; a key changed with `drost auth` replaces the old one in the registry on the next call.
 */
function registering(resolve: CredentialResolver): CredentialResolver {
  return (profile) => {
    const credential = resolve(profile)
    Secrets.set(`provider:${profile.id}`, [credential?.value])
    return credential
  }
}

export function createProvider(profile: Profile, deps: ProviderDeps = {}): Provider {
  const factory = factories[profile.kind]
  if (!factory)
    throw new UnsupportedProvider(
      `provider kind "${profile.kind}" (profile "${profile.id}") is not available in this build`,
    )
  return factory(profile, deps.credential ? { ...deps, credential: registering(deps.credential) } : deps)
}
