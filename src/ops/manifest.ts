/**
 * What a backup archive holds (docs/operations.md): `manifest.json` first, naming every other entry
 * with its size, mode and SHA-256, so a restore can refuse a damaged or foreign archive before it
 * writes anything. Entries live under `state/` (the state folder) or `workspace/` (the workspace files).
 */
import { DrostError } from "../core/error.ts"

export const FORMAT = "drost-backup"
export const FORMAT_VERSION = 1
export const MANIFEST = "manifest.json"

export interface Entry {
  /** `state/...` or `workspace/...`, always with forward slashes. */
  path: string
  size: number
  /** Permission bits (e.g. 0o600 for the store and the secrets). */
  mode: number
  sha256: string
}

export interface Manifest {
  format: typeof FORMAT
  version: number
  /** The drost that wrote it. */
  drost: string
  createdAt: string
  withSecrets: boolean
  /** Where it was taken from (for the reader; a restore may go anywhere). */
  workspace: string
  /** The store's schema version (PRAGMA user_version of the copy), null when there was no store. */
  schema: number | null
  files: Entry[]
}

export class BadArchive extends DrostError {
  constructor(file: string, why: string) {
    super("BadArchive", `${file}: ${why}; nothing was restored`, { file })
  }
}

export function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex")
}

/** A path that stays inside its root: relative, no `..`, no empty or dot segments. */
export function safePath(path: string): boolean {
  if (!/^(state|workspace)\/./.test(path) || path.includes("\\") || path.includes("\0")) return false
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..")
}

/** Check a parsed manifest's shape; a reason when it is not one of ours. */
export function foreign(value: unknown): string | null {
  const manifest = value as Partial<Manifest> | null
  if (!manifest || typeof manifest !== "object" || manifest.format !== FORMAT)
    return `not a drost backup (its ${MANIFEST} has no format "${FORMAT}")`
  if (typeof manifest.version !== "number" || manifest.version > FORMAT_VERSION)
    return `made by a newer drost (backup format ${manifest.version}, this drost reads ${FORMAT_VERSION}); update drost first`
  if (!Array.isArray(manifest.files)) return `its ${MANIFEST} lists no files`
  return null
}
