/**
 * Where the Discord bot token comes from, in order: `token` in the config, an auth profile
 * (`.drost/auth-profiles.json`, `{ "profiles": { "<id>": { "token": "…" } } }`), the environment variable
 * `tokenEnv` (default DISCORD_BOT_TOKEN). The token is a secret: only the bot's id (the first part of
 * the token, base64 of the id) is ever logged or stored.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { DISCORD_TOKEN, type DiscordConfig } from "../../core/channel-config.ts"
import { Flag } from "../../util/flag.ts"

export const DEFAULT_TOKEN_ENV = "DISCORD_BOT_TOKEN"
export const DEFAULT_API_ROOT = "https://discord.com/api"

export type TokenResult = { ok: true; token: string; botId: string; source: string } | { ok: false; problem: string }

/** The bot's user id, decoded from the token's first part (no request needed). */
export function botIdOf(token: string): string {
  try {
    const id = atob((token.split(".")[0] ?? "").replace(/-/g, "+").replace(/_/g, "/"))
    return /^\d{15,21}$/.test(id) ? id : "unknown"
  } catch {
    return "unknown"
  }
}

export function resolveToken(
  channel: Pick<DiscordConfig, "token" | "tokenEnv" | "authProfile">,
  stateDir: string,
): TokenResult {
  const found = (raw: string, source: string): TokenResult => {
    const token = raw.trim().replace(/^Bot\s+/i, "")
    return DISCORD_TOKEN.test(token)
      ? { ok: true, token, botId: botIdOf(token), source }
      : { ok: false, problem: `the bot token from ${source} is malformed (Developer Portal → Bot → Reset Token)` }
  }
  if (channel.token) return found(channel.token, "the config file")
  if (channel.authProfile) {
    const file = join(stateDir, "auth-profiles.json")
    const profiles = existsSync(file)
      ? ((JSON.parse(readFileSync(file, "utf8")) as { profiles?: Record<string, { token?: string }> }).profiles ?? {})
      : {}
    const entry = profiles[channel.authProfile]
    if (!entry?.token) return { ok: false, problem: `no token in auth profile "${channel.authProfile}" (${file})` }
    return found(entry.token, `auth profile "${channel.authProfile}"`)
  }
  const name = channel.tokenEnv ?? DEFAULT_TOKEN_ENV
  const value = Flag.get(name)
  if (!value)
    return {
      ok: false,
      problem: `no bot token: set ${name} (or tokenEnv / authProfile in the discord channel config); see docs/discord.md`,
    }
  return found(value, `$${name}`)
}
