/**
 * Control API tokens. The admin token comes from config, else DROST_CONTROL_ADMIN_TOKEN, else a token
 * generated once and kept in `.drost/control-token` (mode 0600) so scripts on the same machine can read
 * it; it is never printed.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Config } from "../core/config.ts"
import { Flag } from "../util/flag.ts"

export interface Tokens {
  admin: string
  read: string | null
  /** Where the generated admin token lives, when it was generated. */
  file: string | null
}

export function tokenFile(stateDir: string) {
  return join(stateDir, "control-token")
}

export function resolveTokens(config: Config): Tokens {
  const read = config.controlApi.readToken ?? Flag.controlReadToken() ?? null
  const configured = config.controlApi.token ?? Flag.controlAdminToken()
  if (configured) return { admin: configured, read, file: null }
  const file = tokenFile(config.stateDir)
  if (existsSync(file)) {
    chmodSync(file, 0o600)
    const saved = readFileSync(file, "utf8").trim()
    if (saved.length >= 16) return { admin: saved, read, file }
  }
  const admin = `drost_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url")}`
  writeFileSync(file, `${admin}\n`, { mode: 0o600 })
  return { admin, read, file }
}
