/**
 * One archive with the whole state of a workspace (docs/operations.md#backup): a consistent copy of
 * the store (SQLite `VACUUM INTO`, a single read transaction, so turns keep running while it is taken),
 * the rest of the state folder (the evolution repository, audit, journals, archived sessions), and the
 * workspace files a gateway runs on (the config, memory/, prompts/, tools/, skills/). Secrets only on
 * request, and then the archive is readable by its owner only.
 *
 * SQLite stores only: a PostgreSQL store (store.url, DROST_STORE_URL) is a database server's to back up
 * (pg_dump), and a backup without it would not be one, so it is refused (`NotSqlite`, 409 on the API)
 * before anything is written.
 *
 * The archive is a gzip-compressed tar written with `Bun.Archive` (built in since Bun 1.3, so no tar
 * package): every entry is held in memory once while it is written, which suits workspace-sized state.
 * It is written beside its destination and renamed into place, so a half-written archive never carries
 * the final name.
 */
import type { Database } from "bun:sqlite"
import { Database as SQLite } from "bun:sqlite"
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import type { Config } from "../core/config.ts"
import { DrostError } from "../core/error.ts"
import { AUTH_FILE } from "../gateway/auth.ts"
import type { Engine } from "../store/engine/contract.ts"
import { chooseStore } from "../store/engine/open.ts"
import { Flag } from "../util/flag.ts"
import { VERSION } from "../util/version.ts"
import { type Entry, FORMAT, FORMAT_VERSION, MANIFEST, type Manifest, sha256 } from "./manifest.ts"

/** Secrets: left out unless `withSecrets`. */
const SECRET_STATE = new Set([AUTH_FILE, "control-token"])
/** Not state: the lock, the store's live files (copied through VACUUM INTO), logs, backups, regenerated files. */
const SKIP_STATE = new Set([
  "gateway.pid",
  "drost.db",
  "drost.db-wal",
  "drost.db-shm",
  "drost.db-journal",
  "logs",
  "backups",
  // The shell's deny stub, written again when missing.
  "sandbox",
])
/** The workspace folders a gateway runs on (the config file is added by name). */
const WORKSPACE_DIRS = ["memory", "prompts", "tools", "skills"]

/** A running gateway's store as a backup needs it (src/gateway/store.ts `GatewayStore`). */
export interface BackupStore {
  engine: Engine
  /** The SQLite file, or the PostgreSQL URL without its password. */
  shown: string
  /** On SQLite, the store's own open connection: the copy goes through it. */
  local: Database
}

/** The store is not a SQLite file: a backup would leave it out, so none is written. */
export class NotSqlite extends DrostError {
  constructor(what: string, shown: string) {
    const where = shown.replace(/^postgres(ql)?:\/\/([^@/]*@)?/i, "")
    super(
      "Conflict",
      `the store is PostgreSQL at ${where}; back it up with pg_dump (pg_dump -Fc -f drost.dump '${shown}'): ${what} covers SQLite stores only`,
      { engine: "postgres", store: shown },
    )
  }
}

/** The SQLite file a backup of this workspace copies (`chooseStore`); NotSqlite when PostgreSQL is selected. */
export function sqliteFile(config: Config, what = "drost backup"): string {
  const choice = chooseStore({ url: config.store?.url, sqlitePath: storeFile(config) })
  if (choice.engine !== "sqlite") throw new NotSqlite(what, choice.shown)
  return choice.shown
}

export interface BackupOptions {
  /** Where to write; refused when it exists. */
  file: string
  withSecrets: boolean
  /**
   * The running gateway's store: on SQLite copied through its connection (consistent with what it
   * acknowledged); PostgreSQL is refused. Absent: the workspace's store, chosen as a gateway would.
   */
  store?: BackupStore
  /** Skip this folder (the scheduled backups' own dir, when it lies inside the workspace). */
  exclude?: string
}

export interface BackupResult {
  file: string
  bytes: number
  sha256: string
  files: number
  createdAt: string
  withSecrets: boolean
}

/** The default name: `drost-backup-2026-12-01T23-50-00Z.tar.gz`. */
export function backupName(at = new Date()): string {
  return `drost-backup-${at
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/:/g, "-")}.tar.gz`
}

/** The store's file (DROST_DB overrides it, as for the gateway). */
export const storeFile = (config: Config) => Flag.db() ?? join(config.stateDir, "drost.db")

function walk(root: string, skip: (rel: string, name: string) => boolean, out: string[] = [], rel = ""): string[] {
  for (const item of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${item.name}` : item.name
    if (skip(path, item.name)) continue
    if (item.isDirectory()) walk(root, skip, out, path)
    else if (item.isFile()) out.push(path) // sockets, fifos and links are not state
  }
  return out
}

/** Copy the store into `target` in one read transaction. */
function copyStore(file: string, open: Database | undefined, target: string): number | null {
  const db = open ?? (existsSync(file) ? new SQLite(file, { readonly: true }) : null)
  if (!db) return null
  try {
    db.run("VACUUM INTO ?", [target])
    return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version
  } finally {
    if (!open) db.close()
  }
}

export async function createBackup(config: Config, options: BackupOptions): Promise<BackupResult> {
  const given = options.store
  if (given && given.engine !== "sqlite") throw new NotSqlite("drost backup", given.shown)
  const storePath = given ? given.shown : sqliteFile(config)
  const file = resolve(options.file)
  if (existsSync(file)) throw new DrostError("Exists", `${file} exists; give a new file name (backups never overwrite)`)
  if (!existsSync(dirname(file))) throw new DrostError("NotFound", `the folder ${dirname(file)} does not exist`)
  const entries: Record<string, Uint8Array> = {}
  const listed: Entry[] = []
  const add = (path: string, bytes: Uint8Array, mode: number) => {
    entries[path] = bytes
    listed.push({ path, size: bytes.byteLength, mode: mode & 0o777, sha256: sha256(bytes) })
  }
  const addFile = (path: string, source: string) => add(path, readFileSync(source), statSync(source).mode)

  const scratch = mkdtempSync(join(tmpdir(), "drost-backup-"))
  try {
    const copy = join(scratch, "drost.db")
    const schema = copyStore(storePath, given?.local, copy)
    if (schema !== null) add("state/drost.db", readFileSync(copy), 0o600)

    const exclude = options.exclude ? resolve(options.exclude) : null
    const excluded = (absolute: string) =>
      exclude !== null && (absolute === exclude || absolute.startsWith(exclude + sep)) ? true : absolute === file
    if (existsSync(config.stateDir)) {
      const skip = (rel: string, name: string) =>
        (!rel.includes("/") && SKIP_STATE.has(name)) ||
        (!rel.includes("/") && !options.withSecrets && SECRET_STATE.has(name)) ||
        excluded(join(config.stateDir, rel))
      for (const rel of walk(config.stateDir, skip)) addFile(`state/${rel}`, join(config.stateDir, rel))
    }

    const ws = config.workspaceDir
    const inside = (absolute: string) => {
      const rel = relative(ws, absolute)
      return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : null
    }
    const stateRel = inside(config.stateDir)
    const skipWorkspace = (rel: string, name: string) =>
      name === "node_modules" || name === ".git" || rel === stateRel || excluded(join(ws, rel))
    const roots = new Set(WORKSPACE_DIRS)
    const memory = inside(config.memory.dir)
    if (memory) roots.add(memory)
    for (const root of roots) {
      const dir = join(ws, root)
      if (!existsSync(dir) || !statSync(dir).isDirectory()) continue
      for (const rel of walk(dir, (r, n) => skipWorkspace(`${root}/${r}`, n)))
        addFile(`workspace/${root}/${rel}`, join(dir, rel))
    }
    const configRel = config.file ? inside(config.file) : null
    if (config.file && configRel && existsSync(config.file)) addFile(`workspace/${configRel}`, config.file)
    if (options.withSecrets && existsSync(join(ws, ".env"))) addFile("workspace/.env", join(ws, ".env"))

    const createdAt = new Date().toISOString()
    const manifest: Manifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      drost: VERSION,
      createdAt,
      withSecrets: options.withSecrets,
      workspace: ws,
      schema,
      files: listed,
    }
    const archive = new Bun.Archive(
      { [MANIFEST]: `${JSON.stringify(manifest, null, 2)}\n`, ...entries },
      { compress: "gzip" },
    )
    const bytes = await archive.bytes()
    const partial = join(dirname(file), `.${basename(file)}.partial`)
    const fd = openSync(partial, "w", options.withSecrets ? 0o600 : 0o644)
    try {
      writeSync(fd, bytes)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    if (options.withSecrets) chmodSync(partial, 0o600)
    renameSync(partial, file)
    return {
      file,
      bytes: bytes.byteLength,
      sha256: sha256(bytes),
      files: listed.length,
      createdAt,
      withSecrets: options.withSecrets,
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
