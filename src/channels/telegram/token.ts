/**
 * Where the bot token comes from, in order: `token` in the config, an auth profile
 * (`.drost/auth-profiles.json`, `{ "profiles": { "<id>": { "token": "…" } } }`), the environment
 * variable `tokenEnv` (default TELEGRAM_BOT_TOKEN). The token is a secret: only its bot id (the digits
 * before the colon) is ever logged or stored.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { TelegramConfig } from "../../core/channel-config.ts"
import { Flag } from "../../util/flag.ts"

export const DEFAULT_TOKEN_ENV = "TELEGRAM_BOT_TOKEN"

export type TokenResult = { ok: true; token: string; botId: string; source: string } | { ok: false; problem: string }

export function botIdOf(token: string): string {
  return token.split(":")[0] ?? "unknown"
}

export function resolveToken(channel: TelegramConfig, stateDir: string): TokenResult {
  const found = (token: string, source: string): TokenResult =>
    /^\d+:[A-Za-z0-9_-]+$/.test(token.trim())
      ? { ok: true, token: token.trim(), botId: botIdOf(token.trim()), source }
      : { ok: false, problem: `the bot token from ${source} is malformed (expected <digits>:<secret> from @BotFather)` }
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
      problem: `no bot token: set ${name} (or tokenEnv / authProfile in the telegram channel config); see docs/telegram.md`,
    }
  return found(value, `$${name}`)
}
