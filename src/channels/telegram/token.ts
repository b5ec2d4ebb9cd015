/**
 * Where the bot token comes from, in order: `token` in the config, an auth profile
 * (`.drost/auth-profiles.json`, `{ "profiles": { "<id>": { "token": "…" } } }`), the environment
 * variable `tokenEnv` (default TELEGRAM_BOT_TOKEN). The token is a secret: only its bot id (the digits
 * before the colon) is ever logged or stored.
 */
import type { TelegramConfig } from "../../core/channel-config.ts"
import { lookupToken } from "../tokens.ts"

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
  const looked = lookupToken(channel, stateDir, "telegram", DEFAULT_TOKEN_ENV)
  return looked.ok ? found(looked.raw, looked.source) : looked
}
