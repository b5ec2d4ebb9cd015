/**
 * Where the two Slack tokens come from, in order: `appToken` / `botToken` in the config, an auth profile
 * (`.drost/auth-profiles.json`, `{ "profiles": { "<id>": { "appToken": "xapp-…", "botToken": "xoxb-…" } } }`),
 * the environment (`appTokenEnv` / `botTokenEnv`, default SLACK_APP_TOKEN / SLACK_BOT_TOKEN). Tokens
 * are secrets: they are never logged or stored; the team and bot user ids stand for them.
 */
import type { SlackConfig } from "../../core/slack-config.ts"
import { Flag } from "../../util/flag.ts"
import { authProfiles } from "../tokens.ts"

export const DEFAULT_APP_TOKEN_ENV = "SLACK_APP_TOKEN"
export const DEFAULT_BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"

export type SlackTokens = { ok: true; appToken: string; botToken: string } | { ok: false; problem: string }

type TokenFields = Pick<SlackConfig, "appToken" | "appTokenEnv" | "botToken" | "botTokenEnv" | "authProfile">

export function resolveSlackTokens(channel: TokenFields, stateDir: string): SlackTokens {
  let profile: { appToken?: string; botToken?: string } = {}
  if (channel.authProfile) profile = authProfiles<typeof profile>(stateDir).profiles[channel.authProfile] ?? {}
  const pick = (kind: "app" | "bot") => {
    const inline = kind === "app" ? channel.appToken : channel.botToken
    if (inline) return { value: inline.trim(), source: "the config file" }
    if (channel.authProfile) {
      const value = kind === "app" ? profile.appToken : profile.botToken
      return { value: value?.trim(), source: `auth profile "${channel.authProfile}"` }
    }
    const name =
      (kind === "app" ? channel.appTokenEnv : channel.botTokenEnv) ??
      (kind === "app" ? DEFAULT_APP_TOKEN_ENV : DEFAULT_BOT_TOKEN_ENV)
    return { value: Flag.get(name)?.trim(), source: `$${name}` }
  }
  const app = pick("app")
  const bot = pick("bot")
  if (!app.value) return { ok: false, problem: `no app-level token (xapp-…) in ${app.source}; see docs/slack.md` }
  if (!bot.value) return { ok: false, problem: `no bot token (xoxb-…) in ${bot.source}; see docs/slack.md` }
  if (!app.value.startsWith("xapp-"))
    return { ok: false, problem: `the app token from ${app.source} is not an app-level token (xapp-…)` }
  if (!bot.value.startsWith("xoxb-"))
    return { ok: false, problem: `the bot token from ${bot.source} is not a bot token (xoxb-…)` }
  return { ok: true, appToken: app.value, botToken: bot.value }
}
