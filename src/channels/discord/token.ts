/**
 * Where the Discord bot token comes from, in order: `token` in the config, an auth profile
 * (`.drost/auth-profiles.json`, `{ "profiles": { "<id>": { "token": "…" } } }`), the environment variable
 * `tokenEnv` (default DISCORD_BOT_TOKEN). The token is a secret: only the bot's id (the first part of
 * the token, base64 of the id) is ever logged or stored.
 */
import { DISCORD_TOKEN, type DiscordConfig } from "../../core/channel-config.ts"
import { lookupToken } from "../tokens.ts"

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
  const looked = lookupToken(channel, stateDir, "discord", DEFAULT_TOKEN_ENV)
  return looked.ok ? found(looked.raw, looked.source) : looked
}
