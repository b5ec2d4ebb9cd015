/**
 * The exact credential values this gateway knows, for redaction (util/redact.ts `Secrets`): provider
 * keys (auth profiles and environment), Telegram bot tokens, the Control API tokens and MCP header and
 * secret-looking env values. Filled at start (`registerSecrets`), again whenever the config is
 * reloaded; adapters also register what they resolve per call, so a key changed later is covered.
 */
import { existsSync, readFileSync } from "node:fs"
import type { Config } from "../core/config.ts"
import { DEFAULT_KEY_ENV } from "../providers/credential.ts"
import { Flag } from "../util/flag.ts"
import { Secrets } from "../util/redact.ts"
import { readAuth } from "./auth.ts"
import { tokenFile } from "./token.ts"

const SECRET_NAME = /(token|secret|password|passwd|key|auth|credential|cookie|session)/i

/**
 * MCP env values are only partly secrets (`LOG_LEVEL=debug` is not): a value counts when its name
 * says so or it looks opaque (long, no spaces, not a path or URL).
 */
function secretEnv(name: string, value: string): boolean {
  if (SECRET_NAME.test(name)) return true
  return value.length >= 16 && !/\s/.test(value) && !value.includes("/") && !/^\d+$/.test(value)
}

export function configuredSecrets(config: Config): string[] {
  const out: (string | null | undefined)[] = []
  for (const profile of config.providers.profiles) {
    const env = profile.apiKeyEnv ?? DEFAULT_KEY_ENV[profile.kind]
    if (env) out.push(Flag.get(env))
  }
  try {
    for (const entry of Object.values(readAuth(config.stateDir).profiles)) out.push(entry.apiKey, entry.token)
  } catch {
    // An unreadable auth file is reported where it is used; its values cannot be echoed either then.
  }
  out.push(config.controlApi.token, config.controlApi.readToken, Flag.controlAdminToken(), Flag.controlReadToken())
  const file = tokenFile(config.stateDir)
  if (existsSync(file)) out.push(readFileSync(file, "utf8").trim())
  for (const channel of config.channels ?? []) {
    if (channel.kind === "discord") out.push(channel.token, Flag.get(channel.tokenEnv ?? "DISCORD_BOT_TOKEN"))
    if (channel.kind !== "telegram") continue
    out.push(channel.token, Flag.get(channel.tokenEnv ?? "TELEGRAM_BOT_TOKEN"))
  }
  for (const server of Object.values(config.mcp?.servers ?? {})) {
    if ("headers" in server) out.push(...Object.values(server.headers ?? {}))
    if ("env" in server)
      for (const [name, value] of Object.entries(server.env ?? {})) if (secretEnv(name, value)) out.push(value)
  }
  return out.filter((value): value is string => typeof value === "string")
}

/** Replaces the config's share of the registry (call at start and on every config reload). */
export function registerSecrets(config: Config) {
  Secrets.set("config", configuredSecrets(config))
}
