/**
 * Sessions as portable JSON: everything a session is (its row, messages, turns and summaries) in one
 * versioned document, and back. An import never overwrites: it gets a new session id, new message and
 * turn ids, and summaries re-pointed at the imported messages, all in one transaction (IMMEDIATE here).
 *
 * The document's rows are the stored columns, named as in the database; both engines store the same
 * columns (src/store/engine/postgres-migrations.ts), so a document exported from either imports into
 * either. What the document means and how an import maps it (`readExport`, `imported*`) lives here once;
 * this file's `createPortable` is the SQLite engine's, src/store/engine/postgres-portable.ts PostgreSQL's.
 */
import type { Database } from "bun:sqlite"
import { Invalid, NotFound } from "../core/error.ts"
import { Id } from "../core/id.ts"

export const EXPORT_FORMAT = "drost.session"
export const EXPORT_VERSION = 1

type Row = Record<string, string | number | null>

export interface SessionExport {
  format: typeof EXPORT_FORMAT
  version: number
  exportedAt: string
  session: Row
  messages: Row[]
  turns: Row[]
  summaries: Row[]
}

export interface SessionSize {
  id: string
  title: string
  updatedAt: number
  messages: number
  /** Bytes of stored message parts. */
  bytes: number
}

/** The parts of a checked export document (`readExport`). */
export interface ExportParts {
  session: Row
  messages: Row[]
  turns: Row[]
  summaries: Row[]
}

/** The stored columns of each table, in the SQLite engine's order (what `SELECT *` gives there). */
export const COLUMNS = {
  sessions: [
    "id",
    "title",
    "created_at",
    "updated_at",
    "provider",
    "pending_provider",
    "channel",
    "channel_key",
    "metadata",
    "message_count",
    "usage_input",
    "usage_output",
    "usage_cached",
  ],
  messages: ["seq", "id", "session_id", "turn_id", "role", "parts", "provider", "usage", "created_at"],
  turns: [
    "id",
    "session_id",
    "status",
    "source",
    "provider",
    "error",
    "usage",
    "steps",
    "tool_calls",
    "created_at",
    "started_at",
    "ended_at",
    "owner",
  ],
  summaries: ["id", "session_id", "upto_seq", "text", "source", "created_at"],
} as const

const pick = (row: Row, keys: string[]): Row => Object.fromEntries(keys.map((key) => [key, row[key] ?? null]))
const need = (value: unknown, what: string): Row[] => {
  if (!Array.isArray(value)) throw new Invalid(`not a session export: ${what} must be an array`)
  return value as Row[]
}

/** The document as an export of a version this drost reads, or Invalid saying what it lacks. */
export function readExport(doc: unknown): ExportParts {
  const data = doc as Partial<SessionExport> | null
  if (!data || typeof data !== "object" || data.format !== EXPORT_FORMAT)
    throw new Invalid(`not a session export (expected "format": "${EXPORT_FORMAT}")`)
  if (data.version !== EXPORT_VERSION)
    throw new Invalid(`unsupported export version ${String(data.version)} (this drost reads ${EXPORT_VERSION})`)
  if (!data.session || typeof data.session !== "object" || typeof data.session.provider !== "string")
    throw new Invalid("not a session export: session.provider is missing")
  return {
    session: data.session,
    messages: need(data.messages, "messages"),
    turns: need(data.turns ?? [], "turns"),
    summaries: need(data.summaries ?? [], "summaries"),
  }
}

/** The imported session's row (`$`-less column names): a new id, the source's id kept in metadata. */
export function importedSession(source: Row, sessionId: string, messages: number, now: number): Row {
  return {
    id: sessionId,
    title: String(source.title ?? ""),
    created_at: Number(source.created_at ?? now),
    updated_at: now,
    provider: String(source.provider),
    channel: (source.channel as string | null) ?? null,
    channel_key: null,
    metadata: JSON.stringify({ ...JSON.parse(String(source.metadata ?? "{}")), importedFrom: source.id ?? null }),
    message_count: messages,
    usage_input: Number(source.usage_input ?? 0),
    usage_output: Number(source.usage_output ?? 0),
    usage_cached: Number(source.usage_cached ?? 0),
  }
}

/** An imported turn's row under its new id. */
export function importedTurn(turn: Row, id: string, sessionId: string): Row {
  // A turn that was open when exported did not finish: it arrives as interrupted.
  const status =
    turn.status === "queued" || turn.status === "running" ? "interrupted" : String(turn.status ?? "completed")
  return {
    // The exported columns but its identity, its status (below) and its owner (a gateway of the source store).
    ...pick(
      turn,
      COLUMNS.turns.filter((key) => !["id", "session_id", "status", "owner"].includes(key)),
    ),
    id,
    session_id: sessionId,
    status,
  }
}

/** An imported message's row (without seq: the store gives it one), its turn re-pointed by `turnIds`. */
export function importedMessage(message: Row, sessionId: string, turnIds: Map<string, string>): Row {
  if (typeof message.parts !== "string" || typeof message.role !== "string")
    throw new Invalid("not a session export: a message lacks role or parts")
  const turnId = message.turn_id ? (turnIds.get(String(message.turn_id)) ?? null) : null
  return {
    ...pick(message, ["role", "parts", "provider", "usage", "created_at"]),
    id: Id.create("msg"),
    session_id: sessionId,
    turn_id: turnId,
  }
}

/** An imported summary's row, re-pointed at the imported messages by `seqs` (old seq → new). */
export function importedSummary(summary: Row, sessionId: string, seqs: Map<number, number>): Row {
  const upto = Number(summary.upto_seq)
  return {
    id: Id.create("sum"),
    session_id: sessionId,
    upto_seq: upto === 0 ? 0 : (seqs.get(upto) ?? 0),
    text: String(summary.text ?? ""),
    source: String(summary.source ?? "model"),
    created_at: Number(summary.created_at ?? Date.now()),
  }
}

/** Export, import and the sizes retention reads, on either engine (the store contract's `portable`). */
export interface Portable {
  export(id: string): Promise<SessionExport>
  import(doc: unknown): Promise<{ sessionId: string; messages: number }>
  /** Every session, newest first, with its message count and stored bytes (for retention). */
  overview(): Promise<SessionSize[]>
}

/** The SQLite engine's (synchronous; src/store/engine/sqlite.ts lifts it into the contract). */
export function createPortable(db: Database) {
  const q = {
    session: db.query<Row, { id: string }>("SELECT * FROM sessions WHERE id = $id"),
    messages: db.query<Row, { id: string }>("SELECT * FROM messages WHERE session_id = $id ORDER BY seq"),
    turns: db.query<Row, { id: string }>("SELECT * FROM turns WHERE session_id = $id ORDER BY created_at, id"),
    summaries: db.query<Row, { id: string }>("SELECT * FROM summaries WHERE session_id = $id ORDER BY upto_seq"),
    overview: db.query<SessionSize, Record<string, never>>(
      `SELECT s.id AS id, s.title AS title, s.updated_at AS updatedAt, coalesce(sum(length(m.parts)), 0) AS bytes, count(m.seq) AS messages
       FROM sessions s LEFT JOIN messages m ON m.session_id = s.id GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC`,
    ),
    insertSession: db.query(
      `INSERT INTO sessions (id, title, created_at, updated_at, provider, pending_provider, channel, channel_key, metadata, message_count, usage_input, usage_output, usage_cached)
       VALUES ($id, $title, $created_at, $updated_at, $provider, NULL, $channel, $channel_key, $metadata, $message_count, $usage_input, $usage_output, $usage_cached)`,
    ),
    insertTurn: db.query(
      `INSERT INTO turns (id, session_id, status, source, provider, error, usage, steps, tool_calls, created_at, started_at, ended_at)
       VALUES ($id, $session_id, $status, $source, $provider, $error, $usage, $steps, $tool_calls, $created_at, $started_at, $ended_at)`,
    ),
    insertMessage: db.query<{ seq: number }, Row>(
      `INSERT INTO messages (id, session_id, turn_id, role, parts, provider, usage, created_at)
       VALUES ($id, $session_id, $turn_id, $role, $parts, $provider, $usage, $created_at) RETURNING seq`,
    ),
    insertSummary: db.query(
      "INSERT INTO summaries (id, session_id, upto_seq, text, source, created_at) VALUES ($id, $session_id, $upto_seq, $text, $source, $created_at)",
    ),
  }

  return {
    export(id: string): SessionExport {
      const session = q.session.get({ id })
      if (!session) throw new NotFound("session", id)
      return {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        exportedAt: new Date().toISOString(),
        session,
        messages: q.messages.all({ id }),
        turns: q.turns.all({ id }),
        summaries: q.summaries.all({ id }),
      }
    },

    /** Every session, newest first, with its message count and stored bytes (for retention). */
    overview: (): SessionSize[] => q.overview.all({}),

    import: (doc: unknown): { sessionId: string; messages: number } => {
      const { session: source, messages, turns, summaries } = readExport(doc)
      const run = db.transaction(() => {
        const sessionId = Id.create("ses")
        q.insertSession.run(importedSession(source, sessionId, messages.length, Date.now()))
        const turnIds = new Map<string, string>()
        for (const turn of turns) {
          const id = Id.create("turn")
          turnIds.set(String(turn.id), id)
          q.insertTurn.run(importedTurn(turn, id, sessionId))
        }
        const seqs = new Map<number, number>()
        for (const message of messages)
          seqs.set(Number(message.seq), q.insertMessage.get(importedMessage(message, sessionId, turnIds))!.seq)
        for (const summary of summaries) q.insertSummary.run(importedSummary(summary, sessionId, seqs))
        return { sessionId, messages: messages.length }
      })
      return run.immediate()
    },
  }
}
