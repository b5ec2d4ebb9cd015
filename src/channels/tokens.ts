/**
 * Where a channel's bot token comes from, in order: `token` in the config, an auth profile
 * (`.drost/auth-profiles.json`, `{ "profiles": { "<id>": { "token": "…" } } }`), the environment variable
 * `tokenEnv` (or the channel's default). Each channel checks the token's shape itself (telegram/token.ts,
 * discord/token.ts); Slack's two tokens read the same file (slack/token.ts).
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Flag } from "../util/flag.ts"

export type TokenLookup = { ok: true; raw: string; source: string } | { ok: false; problem: string }

/** The entries of `.drost/auth-profiles.json` by id (none when the file is missing), and the file's path. */
export function authProfiles<T = { token?: string }>(stateDir: string): { file: string; profiles: Record<string, T> } {
  const file = join(stateDir, "auth-profiles.json")
  const profiles = existsSync(file)
    ? ((JSON.parse(readFileSync(file, "utf8")) as { profiles?: Record<string, T> }).profiles ?? {})
    : {}
  return { file, profiles }
}

/** The raw token of a `kind` channel (telegram, discord: also its docs page) and where it was found. */
export function lookupToken(
  channel: { token?: string; tokenEnv?: string; authProfile?: string },
  stateDir: string,
  kind: string,
  defaultEnv: string,
): TokenLookup {
  if (channel.token) return { ok: true, raw: channel.token, source: "the config file" }
  if (channel.authProfile) {
    const { file, profiles } = authProfiles(stateDir)
    const entry = profiles[channel.authProfile]
    if (!entry?.token) return { ok: false, problem: `no token in auth profile "${channel.authProfile}" (${file})` }
    return { ok: true, raw: entry.token, source: `auth profile "${channel.authProfile}"` }
  }
  const name = channel.tokenEnv ?? defaultEnv
  const value = Flag.get(name)
  if (!value)
    return {
      ok: false,
      problem: `no bot token: set ${name} (or tokenEnv / authProfile in the ${kind} channel config); see docs/${kind}.md`,
    }
  return { ok: true, raw: value, source: `$${name}` }
}
