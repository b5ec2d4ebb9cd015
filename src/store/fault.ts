/**
 * What the database file can do to a running gateway besides answer: fill up, turn out damaged, or
 * disappear. SQLite reports each as an error code on whatever statement met it; this names the three
 * faults, turns the raw error into one a client can act on (507 or 503 at the API), and keeps the
 * store's health (the `store` component of the gateway's state) with the reason and the fix.
 */
import { DrostError } from "../core/error.ts"

export type FaultKind = "full" | "corrupt" | "gone" | "io"

/** The disk (or the database's size cap) is full: nothing new can be stored until space returns. */
export class StorageFull extends DrostError {
  constructor(file: string, cause?: unknown) {
    super(
      "InsufficientStorage",
      `the disk holding ${file} is full, so nothing new can be stored; free some space and send it again (the gateway resumes by itself)`,
      { file },
      { cause },
    )
  }
}

/** The database is damaged, deleted or failing: refuse instead of losing what the client sends. */
export class StorageUnavailable extends DrostError {
  constructor(fault: Exclude<FaultKind, "full">, message: string, file: string, cause?: unknown) {
    super("Unavailable", message, { fault, file }, { cause })
  }
}

/** A database that must not be opened as it is; the CLI exits with REFUSED (78) so nothing restarts it. */
export class StoreDamaged extends DrostError {
  constructor(file: string, detail: string) {
    super(
      "StoreDamaged",
      `the database ${file} is damaged (${detail}). Stop the gateway and run \`drost doctor --repair\`: it moves the file aside (kept as ${file}.corrupt-<time>) and copies every readable row into a new one; then start again`,
      { file, detail },
    )
  }
}

const code = (error: unknown): string =>
  typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : ""

/** The fault a SQLite error stands for; null for ordinary errors (constraints, syntax, busy). */
export function classify(error: unknown): FaultKind | null {
  const name = code(error)
  if (name === "SQLITE_FULL") return "full"
  if (name.startsWith("SQLITE_CORRUPT") || name === "SQLITE_NOTADB") return "corrupt"
  if (name === "SQLITE_READONLY_DBMOVED") return "gone"
  if (name.startsWith("SQLITE_IOERR") || name === "SQLITE_CANTOPEN") return "io"
  return null
}

export function reason(kind: FaultKind, file: string, detail: string): string {
  switch (kind) {
    case "full":
      return `the disk holding ${file} is full (${detail}): new turns are refused with 507 until space is freed; the gateway resumes by itself`
    case "corrupt":
      return `${file} is damaged (${detail}): stop the gateway and run drost doctor --repair`
    case "gone":
      return `${file} was deleted or replaced while the gateway ran (${detail}): new turns are refused because they would be lost; restart the gateway (drost restart)`
    case "io":
      return `${file} cannot be read or written (${detail}): check the disk, then restart the gateway`
  }
}
