/**
 * The start-time check of the database file, so a damaged file refuses the start once, with the file
 * and the fix, instead of crash-looping on "database disk image is malformed" or running with sessions
 * that answer 500.
 *
 * Cost, measured with open() with and without the check (median of 15, 2-core CI machine): the header
 * check is one 100-byte read and reading the schema is what the first query does anyway (0.03 ms
 * together on a 67 MB file); `PRAGMA quick_check` reads every page (about 1 ms per MB: +0.2 ms at
 * 0.1 MB, +1.35 ms at 1.5 MB), so it runs at start only for files up to QUICK_CHECK_MAX_BYTES (≈ 9 ms),
 * keeping the cold start within its ~60 ms budget. Larger files get the header and schema checks at
 * start; damage deeper in them is caught by the first query that meets it (the gateway turns
 * `degraded`, see guard.ts) and by
 * `drost doctor`, which runs the full check.
 */
import type { Database } from "bun:sqlite"
import { closeSync, openSync, readSync, statSync } from "node:fs"

export const QUICK_CHECK_MAX_BYTES = 8 * 1024 * 1024

const MAGIC = "SQLite format 3\0"

/** What is wrong with the file's header, or null when it is a plausible SQLite database (or absent/empty). */
export function headerProblem(file: string): string | null {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    return null
  }
  if (size === 0) return null
  const header = Buffer.alloc(100)
  const fd = openSync(file, "r")
  try {
    readSync(fd, header, 0, 100, 0)
  } finally {
    closeSync(fd)
  }
  if (size < 100) return `the file is ${size} bytes, shorter than a SQLite header: truncated`
  if (header.toString("latin1", 0, 16) !== MAGIC)
    return "its first bytes are not a SQLite header: the file was overwritten or is not a database"
  const raw = header.readUInt16BE(16)
  const page = raw === 1 ? 65536 : raw
  if (page < 512 || page > 65536 || (page & (page - 1)) !== 0) return `its header names an invalid page size (${raw})`
  if (size % page !== 0) return `the file is ${size} bytes, not a whole number of ${page}-byte pages: truncated`
  // The page count in the header is valid when the change counter matches "version-valid-for".
  const pages = header.readUInt32BE(28)
  if (pages > 0 && header.readUInt32BE(24) === header.readUInt32BE(92) && pages * page > size)
    return `its header counts ${pages} pages but the file holds ${size / page}: truncated`
  return null
}

/** After opening: the schema must parse, and small files must pass `PRAGMA quick_check`. Null when fine. */
export function contentProblem(db: Database, size: number): string | null {
  db.query("SELECT count(*) AS n FROM sqlite_master").get()
  if (size > QUICK_CHECK_MAX_BYTES) return null
  const rows = db.query("PRAGMA quick_check").all() as { quick_check: string }[]
  const verdict = rows.map((row) => row.quick_check).join("; ")
  return verdict === "ok" ? null : `quick_check: ${verdict.slice(0, 300)}`
}
