/**
 * `drost doctor --repair`: a damaged database is moved aside (kept, never deleted) and every row that
 * can still be read is copied into a fresh one with the current schema.
 *
 * bun:sqlite has no `.recover` and the sqlite3 CLI is not everywhere (nor in the compiled binary), so
 * the copy reads each table by rowid ranges, halving a range that fails until single rows are left:
 * rows on damaged pages are counted as lost, the rest are kept. A file whose header was overwritten
 * gets a rebuilt header on a scratch copy first (page size found by trying each). Messages whose
 * session row was lost get a placeholder session, so no readable conversation is dropped. The memory
 * index (memory_files, memory_fts) is not copied: the gateway rebuilds it from memory/ at start.
 */
import { Database } from "bun:sqlite"
import { closeSync, copyFileSync, existsSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { open } from "./db.ts"
import { message } from "../core/error.ts"

export interface TableReport {
  table: string
  copied: number
  /** Rowids that could not be read between readable ones (or up to the table's last rowid). */
  lost: number
  /** The table's end could not be read (a truncated file): how many rows were there is unknown. */
  endUnreadable?: boolean
}

export interface RepairReport {
  file: string
  quarantined: string
  tables: TableReport[]
  /** Sessions recreated as placeholders because only their messages or turns were readable. */
  placeholders: number
  /** When the old file could not be opened at all: why (nothing was copied). */
  unreadable?: string
}

/** Not copied: indexes rebuilt from the copied rows (memory rescans its notes, messages_fts fills by trigger). */
const SKIP = (name: string) =>
  name.startsWith("memory_") || name.startsWith("sqlite_") || name.startsWith("messages_fts")

/** A 100-byte SQLite header for a file whose own was overwritten (UTF-8, WAL, no page count: use the file size). */
function header(page: number): Buffer {
  const out = Buffer.alloc(100)
  out.write("SQLite format 3\0", 0, "latin1")
  out.writeUInt16BE(page === 65536 ? 1 : page, 16)
  out.set([2, 2, 0, 64, 32, 32], 18)
  out.writeUInt32BE(1, 24)
  out.writeUInt32BE(4, 44)
  out.writeUInt32BE(1, 56)
  out.writeUInt32BE(1, 92)
  out.writeUInt32BE(3045000, 96)
  return out
}

function readable(file: string): Database | string {
  try {
    const db = new Database(file)
    db.query("SELECT count(*) FROM sqlite_master").get()
    return db
  } catch (error) {
    return message(error)
  }
}

/** Open the quarantined file, or a scratch copy of it with a rebuilt header. */
function openOld(quarantined: string): { db: Database; scratch?: string } | string {
  const first = readable(quarantined)
  if (typeof first !== "string") return { db: first }
  const scratch = `${quarantined}.rebuilt`
  for (let page = 512; page <= 65536; page *= 2) {
    copyFileSync(quarantined, scratch)
    if (existsSync(`${quarantined}-wal`)) copyFileSync(`${quarantined}-wal`, `${scratch}-wal`)
    const fd = openSync(scratch, "r+")
    writeSync(fd, header(page), 0, 100, 0)
    closeSync(fd)
    const db = readable(scratch)
    if (typeof db !== "string") return { db, scratch }
  }
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${scratch}${suffix}`, { force: true })
  return first
}

function copyTable(from: Database, to: Database, table: string): TableReport {
  const report: TableReport = { table, copied: 0, lost: 0 }
  const theirs = new Set(
    from
      .query(`PRAGMA table_info("${table}")`)
      .all()
      .map((row) => (row as { name: string }).name),
  )
  const columns = to
    .query(`PRAGMA table_info("${table}")`)
    .all()
    .map((row) => (row as { name: string }).name)
    .filter((name) => theirs.has(name))
  if (columns.length === 0) return report
  const list = columns.map((name) => `"${name}"`).join(", ")
  const read = from.query(`SELECT rowid AS __rowid, ${list} FROM "${table}" WHERE rowid BETWEEN ?1 AND ?2`)
  const write = to.query(
    `INSERT OR IGNORE INTO "${table}" (rowid, ${list}) VALUES (?1, ${columns.map((_, i) => `?${i + 2}`).join(", ")})`,
  )
  let top = 0
  let known = true
  try {
    top = (from.query(`SELECT max(rowid) AS top FROM "${table}"`).get() as { top: number | null }).top ?? 0
  } catch {
    // The table's last page is damaged (a truncated file): probe onwards until nothing more can be read.
    top = Number.MAX_SAFE_INTEGER
    known = false
  }
  // Unreadable rowids count as lost once a later row proves they were inside the table.
  let pending = 0
  const copy = (low: number, high: number) => {
    let rows: Record<string, unknown>[]
    try {
      rows = read.all(low, high) as Record<string, unknown>[]
    } catch {
      if (low === high) return void pending++
      const middle = Math.floor((low + high) / 2)
      copy(low, middle)
      copy(middle + 1, high)
      return
    }
    for (const row of rows) {
      write.run(row.__rowid as number, ...(columns.map((name) => row[name]) as never[]))
      report.copied++
      report.lost += pending
      pending = 0
    }
  }
  to.transaction(() => {
    let barren = 0
    for (let low = 1; low <= top; low += 1024) {
      const before = report.copied
      copy(low, Math.min(low + 1023, top))
      barren = report.copied === before ? barren + 1 : 0
      // Without a known end, 8 ranges in a row with nothing readable are the end.
      if (!known && barren >= 8) break
    }
  })()
  if (known) report.lost += pending
  else if (pending) report.endUnreadable = true
  return report
}

/** Move `file` aside and copy what can be read into a new database at `file`. The gateway must be stopped. */
export function repair(file: string): RepairReport {
  const quarantined = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`
  renameSync(file, quarantined)
  for (const suffix of ["-wal", "-shm"])
    if (existsSync(`${file}${suffix}`)) renameSync(`${file}${suffix}`, `${quarantined}${suffix}`)
  const fresh = open(file, { check: false })
  const report: RepairReport = { file, quarantined, tables: [], placeholders: 0 }
  const old = openOld(quarantined)
  if (typeof old === "string") {
    fresh.close()
    return { ...report, unreadable: old }
  }
  try {
    fresh.run("PRAGMA foreign_keys = OFF")
    const tables = fresh
      .query("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
      .all()
      .map((row) => (row as { name: string }).name)
      .filter((name) => !SKIP(name))
    let present: Set<string>
    try {
      present = new Set(
        old.db
          .query("SELECT name FROM sqlite_master WHERE type = 'table'")
          .all()
          .map((r) => (r as { name: string }).name),
      )
    } catch {
      present = new Set()
    }
    for (const table of tables) if (present.has(table)) report.tables.push(copyTable(old.db, fresh, table))
    report.placeholders = fresh.run(
      `INSERT INTO sessions (id, title, created_at, updated_at, provider)
       SELECT session_id, 'recovered by drost doctor --repair', min(created_at), max(created_at), ''
       FROM (SELECT session_id, created_at FROM messages UNION ALL SELECT session_id, created_at FROM turns)
       WHERE session_id NOT IN (SELECT id FROM sessions) GROUP BY session_id`,
    ).changes
    fresh.run(
      "UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE messages.session_id = sessions.id)",
    )
    // What remains unreferenced (summaries of a lost session) cannot be shown anywhere.
    fresh.run("DELETE FROM summaries WHERE session_id NOT IN (SELECT id FROM sessions)")
    fresh.run("PRAGMA foreign_keys = ON")
    return report
  } finally {
    old.db.close()
    if (old.scratch) for (const suffix of ["", "-wal", "-shm"]) rmSync(`${old.scratch}${suffix}`, { force: true })
    fresh.run("PRAGMA wal_checkpoint(TRUNCATE)")
    fresh.close()
  }
}
