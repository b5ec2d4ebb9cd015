/**
 * Auth profiles: `.drost/auth-profiles.json`, the one file that holds provider keys and tokens, so
 * they stay out of the config (which is often committed) and out of the environment. Format:
 * `{ "profiles": { "<id>": { "kind": "openai", "apiKey": "…" } | { "kind": "anthropic", "token": "…" } } }`
 * (`token` is an Anthropic setup token, or a Telegram bot token for channels).
 *
 * The file is created with mode 0600 and tightened whenever it is found looser. Values are never
 * printed: listings show the id, the kind and where a profile is used, nothing of the secret.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Profile } from "../core/config.ts"
import { DrostError } from "../core/error.ts"
import { type Credential, type CredentialResolver, DEFAULT_KEY_ENV } from "../providers/credential.ts"
import { Flag } from "../util/flag.ts"

export interface AuthEntry {
  kind: string
  apiKey?: string
  token?: string
  /** Slack's two tokens (kind "slack"): app-level (xapp-…) and bot (xoxb-…). */
  appToken?: string
  botToken?: string
  /** When the entry was written (ms since epoch). */
  updatedAt?: number
}

export interface AuthFile {
  profiles: Record<string, AuthEntry>
}

export const AUTH_FILE = "auth-profiles.json"
export const authPath = (stateDir: string) => join(stateDir, AUTH_FILE)

/** Tighten the file to 0600 if group or others can read it; returns true when it had to. */
export function fixMode(file: string): boolean {
  if (!existsSync(file)) return false
  if ((statSync(file).mode & 0o077) === 0) return false
  chmodSync(file, 0o600)
  return true
}

export function readAuth(stateDir: string): AuthFile {
  const file = authPath(stateDir)
  if (!existsSync(file)) return { profiles: {} }
  fixMode(file)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"))
  } catch (error) {
    throw new DrostError(
      "AuthFile",
      `${file} is not valid JSON (${(error as Error).message}); fix or delete it and run \`drost auth set-api-key\` again`,
    )
  }
  const profiles = (parsed as Partial<AuthFile> | null)?.profiles
  if (!profiles || typeof profiles !== "object" || Array.isArray(profiles)) return { profiles: {} }
  return { profiles: profiles as Record<string, AuthEntry> }
}

/** Atomic replace: a temp file created 0600, then renamed over the old one. */
export function writeAuth(stateDir: string, auth: AuthFile) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const file = authPath(stateDir)
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 })
  chmodSync(temp, 0o600)
  renameSync(temp, file)
}

export function setEntry(stateDir: string, id: string, entry: AuthEntry) {
  const auth = readAuth(stateDir)
  auth.profiles[id] = { ...entry, updatedAt: Date.now() }
  writeAuth(stateDir, auth)
}

export function removeEntry(stateDir: string, id: string): boolean {
  const auth = readAuth(stateDir)
  if (!(id in auth.profiles)) return false
  delete auth.profiles[id]
  writeAuth(stateDir, auth)
  return true
}

/** The key or token stored under auth profile `id` (web.search's backend key), re-read on every call. */
export function secretOf(stateDir: string, id: string): string | undefined {
  const entry = readAuth(stateDir).profiles[id]
  return entry?.apiKey || entry?.token || undefined
}

function toCredential(entry: AuthEntry | undefined, id: string): Credential | null {
  if (entry?.apiKey) return { type: "api-key", value: entry.apiKey, source: `auth:${id}` }
  if (entry?.token)
    return { type: entry.kind === "anthropic" ? "setup-token" : "api-key", value: entry.token, source: `auth:${id}` }
  return null
}

function envKey(profile: Profile): { name: string; value: string | undefined } | null {
  if (profile.apiKeyEnv) return { name: profile.apiKeyEnv, value: Flag.get(profile.apiKeyEnv) }
  const name = DEFAULT_KEY_ENV[profile.kind]
  if (!name) return null
  const value =
    profile.kind === "openai"
      ? Flag.openaiApiKey()
      : profile.kind === "anthropic"
        ? Flag.anthropicApiKey()
        : Flag.xaiApiKey()
  return { name, value }
}

/**
 * The auth-profile ids a profile without an explicit `authProfile` looks up, in order: its own id, then
 * `<kind>:<id>` and `<kind>:default` (the names `drost auth set-api-key openai openai:default` and
 * `… openai-compatible openai-compatible:local` write). The `<kind>:` names only count when the entry is
 * of the profile's kind, so an `openai:default` key is never sent to Anthropic.
 */
export function authCandidates(profile: Profile): { id: string; sameKind: boolean }[] {
  return [
    { id: profile.id, sameKind: false },
    { id: `${profile.kind}:${profile.id}`, sameKind: true },
    { id: `${profile.kind}:default`, sameKind: true },
  ].filter((candidate, index, list) => list.findIndex((other) => other.id === candidate.id) === index)
}

/**
 * Credential resolution, in order: the profile's `authProfile` entry (named explicitly: no fallback),
 * the entries of `authCandidates`, `apiKeyEnv`, then the kind's standard variable. The file is
 * re-read when it changes, so `drost auth set-api-key` takes effect on the next model call.
 */
export function createCredentials(stateDir: string): { resolve: CredentialResolver; source(profile: Profile): string } {
  let cached: { mtime: number; auth: AuthFile } | null = null
  const current = (): AuthFile => {
    const file = authPath(stateDir)
    const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0
    if (!cached || cached.mtime !== mtime) cached = { mtime, auth: mtime ? readAuth(stateDir) : { profiles: {} } }
    return cached.auth
  }
  const resolve: CredentialResolver = (profile) => {
    const auth = current()
    if (profile.authProfile) return toCredential(auth.profiles[profile.authProfile], profile.authProfile)
    for (const candidate of authCandidates(profile)) {
      const entry = auth.profiles[candidate.id]
      if (candidate.sameKind && entry?.kind !== profile.kind) continue
      const found = toCredential(entry, candidate.id)
      if (found) return found
    }
    const env = envKey(profile)
    return env?.value ? { type: "api-key", value: env.value, source: `env:${env.name}` } : null
  }
  return {
    resolve,
    source(profile) {
      if (profile.kind === "demo") return "none needed"
      const found = resolve(profile)
      if (found)
        return found.source.startsWith("auth:")
          ? `auth profile "${found.source.slice(5)}"`
          : `env ${found.source.slice(4)}`
      if (profile.authProfile) return `missing (auth profile "${profile.authProfile}" not found)`
      return profile.kind === "openai-compatible" ? "none (no key sent)" : "missing"
    },
  }
}
