/**
 * The store's health while the gateway runs. `guard(db, health)` makes every statement run through the
 * connection (by any module: sessions, Telegram, memory, summaries) report a disk-full, corruption or
 * I/O error here and rethrow it as a `StorageFull` (507) or `StorageUnavailable` (503) error, so the
 * gateway turns `degraded` with the reason instead of answering 500 while /healthz says running.
 *
 * It also watches the file's identity (device and inode, one stat: about 2 µs): a `.drost/` deleted or
 * replaced while the gateway runs would otherwise swallow every turn into a file nobody will open
 * again. When that happens the gateway refuses new turns and writes what the open connection still
 * holds back to the path (`VACUUM INTO`), so the next start loses nothing that was acknowledged.
 *
 * A full disk clears by itself: `recover()` (called every few seconds while full) checks that the
 * filesystem has room again and that the database can allocate pages.
 */
import type { Database, Statement } from "bun:sqlite"
import { existsSync, mkdirSync, renameSync, statfsSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { message } from "../core/error.ts"
import { classify, type FaultKind, reason, StorageFull, StorageUnavailable } from "./fault.ts"

export type StoreHealth = ReturnType<typeof createStoreHealth>

/** How long a look at the file's identity is trusted (ms). */
const VERIFIED_MS = 1

/** Free bytes the filesystem must show before a full store counts as recovered. */
const ROOM = 1024 * 1024

const identity = (file: string): string | null => {
  try {
    const stat = statSync(file)
    return `${stat.dev}:${stat.ino}`
  } catch {
    return null
  }
}

export function createStoreHealth(file: string, shown = file) {
  const faults = new Map<FaultKind, string>()
  const listeners = new Set<(problem: string | null) => void>()
  const watched = file === ":memory:" ? null : identity(file)
  let db: Database | null = null
  let verifiedAt = Number.NEGATIVE_INFINITY
  const problem = () => (faults.size ? [...faults.values()].join("; ") : null)
  const changed = () => {
    for (const listener of listeners) listener(problem())
  }
  const report = (kind: FaultKind, detail: string) => {
    if (faults.has(kind)) return
    faults.set(kind, reason(kind, shown, detail))
    changed()
  }
  const clear = (kind: FaultKind) => {
    if (faults.delete(kind)) changed()
  }
  const errorFor = (kind: FaultKind, cause: unknown) =>
    kind === "full" ? new StorageFull(shown, cause) : new StorageUnavailable(kind, faults.get(kind)!, shown, cause)

  /** Keep what the open connection still holds: the deleted path gets it back, a replaced one a copy beside it. */
  const rescue = (): string => {
    if (!db) return "nothing to rescue"
    const target = existsSync(file) ? `${file}.orphaned-${Date.now()}` : file
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
      const temporary = `${target}.rescue`
      db.run("VACUUM INTO ?", [temporary])
      renameSync(temporary, target)
      return `what it held is saved in ${target}`
    } catch (error) {
      return `it could not be saved (${message(error)})`
    }
  }

  const health = {
    file,
    problem,
    has: (kind: FaultKind) => faults.has(kind),
    onChange(listener: (problem: string | null) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    report,
    clear,
    /** The error a caller should see for `error`: a named storage error (reported here) or `error` itself. */
    fault(error: unknown): unknown {
      if (error instanceof StorageFull || error instanceof StorageUnavailable) return error
      const kind = classify(error)
      if (!kind) return error
      report(kind, message(error))
      return errorFor(kind, error)
    },
    /**
     * Is the file still the one we opened? Cheap enough for every turn. A look less than `VERIFIED_MS`
     * old is trusted: a turn's begin asks twice in a row (before it is queued for the group commit and as
     * it is written); anything written after a deletion that this skips is in the rescue's copy.
     */
    verify(): boolean {
      if (watched === null || faults.has("gone")) return !faults.has("gone")
      const at = performance.now()
      if (at - verifiedAt < VERIFIED_MS) return true
      const now = identity(file)
      if (now === watched) {
        verifiedAt = at
        return true
      }
      const what = now === null ? "the file is missing" : "another file is at its path"
      // Report first: the rescue may recreate the path, and a second look must not report it again.
      faults.set("gone", "")
      faults.set("gone", reason("gone", shown, `${what}; ${rescue()}`))
      changed()
      return false
    },
    /** Throws unless a new turn can be stored where the next start will find it. */
    admit() {
      health.verify()
      for (const kind of ["gone", "corrupt", "io"] as const) if (faults.has(kind)) throw errorFor(kind, null)
    },
    /** While full: has space returned? Clears the fault when the filesystem has room and pages can be allocated. */
    recover(): boolean {
      if (!faults.has("full")) return true
      if (!db) return false
      try {
        if (file !== ":memory:") {
          const fs = statfsSync(dirname(file))
          if (fs.bavail * fs.bsize < ROOM) return false
        }
        // Allocate a few pages inside a transaction that is rolled back: fails with SQLITE_FULL at a size cap.
        raw.begin?.run()
        try {
          raw.probe?.run()
        } finally {
          raw.rollback?.run()
        }
      } catch {
        if (db.inTransaction) db.run("ROLLBACK")
        return false
      }
      clear("full")
      return true
    },
    attach(connection: Database) {
      db = connection
    },
  }
  const raw: { begin?: Statement; probe?: Statement; rollback?: Statement } = {}
  const attach = health.attach
  health.attach = (connection: Database) => {
    attach(connection)
    raw.begin = connection.prepare("BEGIN IMMEDIATE")
    raw.probe = connection.prepare(
      "INSERT INTO kv (key, value) VALUES ('store.probe', hex(randomblob(16384))) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    raw.rollback = connection.prepare("ROLLBACK")
  }
  return health
}

const METHODS = ["run", "get", "all", "values"] as const

function wrapStatement<S extends Statement>(statement: S, health: StoreHealth): S {
  for (const name of METHODS) {
    const original = statement[name] as (...args: unknown[]) => unknown
    ;(statement as Record<string, unknown>)[name] = (...args: unknown[]) => {
      try {
        return original.apply(statement, args)
      } catch (error) {
        throw health.fault(error)
      }
    }
  }
  return statement
}

/** Route every statement of `db` through `health` (the connection is changed in place and returned). */
export function guard(db: Database, health: StoreHealth): Database {
  const query = db.query.bind(db)
  const prepare = db.prepare.bind(db)
  const run = db.run.bind(db)
  const exec = db.exec.bind(db)
  const target = db as unknown as Record<string, unknown>
  target.query = (sql: string) => wrapStatement(query(sql), health)
  target.prepare = (sql: string, ...rest: unknown[]) =>
    wrapStatement((prepare as (sql: string, ...rest: unknown[]) => Statement)(sql, ...rest), health)
  for (const [name, original] of [
    ["run", run],
    ["exec", exec],
  ] as const) {
    target[name] = (...args: unknown[]) => {
      try {
        return (original as (...args: unknown[]) => unknown)(...args)
      } catch (error) {
        throw health.fault(error)
      }
    }
  }
  health.attach(db)
  return db
}
