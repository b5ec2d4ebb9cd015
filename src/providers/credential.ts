/**
 * What an adapter needs to authenticate. Resolution (auth profiles file, then environment) lives in
 * gateway/auth.ts; adapters receive a resolver and call it per request, so a key changed with
 * `drost auth` is used from the next model call on, without a restart.
 */
import type { Profile } from "../core/config.ts"

export interface Credential {
  /** `setup-token`: an Anthropic OAuth token from `claude setup-token`, sent as a bearer token. */
  type: "api-key" | "setup-token"
  value: string
  /** Where it came from, for status output (never the value): `auth:<id>` or `env:<NAME>`. */
  source: string
}

export type CredentialResolver = (profile: Profile) => Credential | null

/** The environment variable consulted when a profile names neither an auth profile nor `apiKeyEnv`. */
export const DEFAULT_KEY_ENV: Partial<Record<Profile["kind"], string>> = {
  openai: "OPENAI_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
  xai: "XAI_API_KEY",
}

/** Kinds that cannot work without a credential (a compatible server often needs none). */
export function needsKey(kind: Profile["kind"]): boolean {
  return kind === "openai" || kind === "anthropic" || kind === "xai"
}

export function missingKeyMessage(profile: Profile): string {
  const env = profile.apiKeyEnv ?? DEFAULT_KEY_ENV[profile.kind]
  const kind = profile.kind === "openai-compatible" ? "openai-compatible" : profile.kind
  return `no credential for provider profile "${profile.id}": run \`drost auth set-api-key ${kind} ${profile.authProfile ?? profile.id}\`${env ? ` or set ${env}` : ""}`
}
