/**
 * Builds a Provider from a configured profile. Each kind has one factory; adding a wire protocol means
 * adding one entry here.
 */
import type { Profile } from "../core/config.ts"
import type { Provider } from "../core/provider.ts"
import { createDemoProvider } from "./demo.ts"

export interface ProviderDeps {
  /** Resolve a credential (auth profile or env) for a profile; null when none is configured. */
  credential?: (profile: Profile) => string | null
}

type Factory = (profile: Profile, deps: ProviderDeps) => Provider

const factories: Partial<Record<Profile["kind"], Factory>> = {
  demo: (profile) => createDemoProvider(profile),
}

export class UnsupportedProvider extends Error {}

export function createProvider(profile: Profile, deps: ProviderDeps = {}): Provider {
  const factory = factories[profile.kind]
  if (!factory) throw new UnsupportedProvider(`provider kind "${profile.kind}" (profile "${profile.id}") is not available in this build`)
  return factory(profile, deps)
}
