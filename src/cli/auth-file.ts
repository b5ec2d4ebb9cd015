/**
 * Writes credentials into `.drost/auth-profiles.json` (mode 0600, tightened if it was looser) in the
 * file format the runtime reads: `{ "profiles": { "<id>": { "kind": "…", "apiKey" | "token": "…" } } }`.
 * Used by `drost setup` and read by `drost doctor`; values are never printed.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export interface AuthEntry {
  kind: string
  apiKey?: string
  token?: string
}

export interface AuthFile {
  profiles: Record<string, AuthEntry>
}

export const authFilePath = (stateDir: string) => join(stateDir, "auth-profiles.json")

export function readAuthFile(stateDir: string): AuthFile {
  const file = authFilePath(stateDir)
  if (!existsSync(file)) return { profiles: {} }
  const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<AuthFile>
  return { profiles: parsed.profiles ?? {} }
}

/** Adds or replaces entries, keeping the others; the file is created 0600 and its mode fixed if looser. */
export function saveAuthEntries(stateDir: string, entries: Record<string, AuthEntry>) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const file = authFilePath(stateDir)
  const current = readAuthFile(stateDir)
  const next: AuthFile = { profiles: { ...current.profiles, ...entries } }
  writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
}

/** Permission bits of the file, or null when it does not exist. */
export function fileMode(file: string): number | null {
  return existsSync(file) ? statSync(file).mode & 0o777 : null
}
