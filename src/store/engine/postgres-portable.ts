/**
 * The PostgreSQL engine's session export, import and sizes (the contract's `portable`, src/store/portable.ts
 * for the document and how an import maps it). The document holds the stored columns as the SQLite engine
 * gives them: the same names and order, BIGINT columns as numbers (the driver answers strings), and not
 * PostgreSQL's own search columns (`body`, `tsv`), which an import writes afresh from the parts.
 */
import type { SQL } from "bun"
import { NotFound } from "../../core/error.ts"
import { Id } from "../../core/id.ts"
import type { Part } from "../../core/message.ts"
import {
  COLUMNS,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  importedMessage,
  importedSession,
  importedSummary,
  importedTurn,
  type Portable,
  readExport,
} from "../portable.ts"

type Row = Record<string, string | number | null>

/** The numeric columns of each table (BIGINT and INTEGER): numbers in the document, as SQLite's. */
const NUMERIC = new Set([
  "created_at",
  "updated_at",
  "message_count",
  "usage_input",
  "usage_output",
  "usage_cached",
  "seq",
  "steps",
  "tool_calls",
  "started_at",
  "ended_at",
  "upto_seq",
])

/** A stored row as the document carries it: the table's columns in order, numbers as numbers. */
const asRow = (row: Record<string, unknown>, columns: readonly string[]): Row =>
  Object.fromEntries(
    columns.map((column) => {
      const value = row[column] ?? null
      return [column, value !== null && NUMERIC.has(column) ? Number(value) : (value as string | null)]
    }),
  )

/**
 * `bodyOf` and `clean` are postgres.ts's (what the full-text index holds for a message; U+0000 in free
 * text), passed in so the rows written here are those `sessions.append` would write.
 */
export function postgresPortable(
  sql: SQL,
  text: { bodyOf(role: string, parts: Part[]): string | null; clean<T extends string | null>(value: T): T },
): Portable {
  const { bodyOf, clean } = text
  const cleanOrNull = (value: unknown) => clean((value ?? null) as string | null)
  return {
    async export(id) {
      const [session] = await sql`SELECT * FROM sessions WHERE id = ${id}`
      if (!session) throw new NotFound("session", id)
      const messages = await sql`SELECT * FROM messages WHERE session_id = ${id} ORDER BY seq`
      const turns = await sql`SELECT * FROM turns WHERE session_id = ${id} ORDER BY created_at, id`
      const summaries = await sql`SELECT * FROM summaries WHERE session_id = ${id} ORDER BY upto_seq`
      return {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        exportedAt: new Date().toISOString(),
        session: asRow(session, COLUMNS.sessions),
        messages: messages.map((row: Record<string, unknown>) => asRow(row, COLUMNS.messages)),
        turns: turns.map((row: Record<string, unknown>) => asRow(row, COLUMNS.turns)),
        summaries: summaries.map((row: Record<string, unknown>) => asRow(row, COLUMNS.summaries)),
      }
    },

    async overview() {
      // length() counts characters on both engines, so the figures are SQLite's.
      const rows = await sql`
        SELECT s.id, s.title, s.updated_at, coalesce(sum(length(m.parts)), 0) AS bytes, count(m.seq) AS messages
        FROM sessions s LEFT JOIN messages m ON m.session_id = s.id
        GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC`
      return rows.map((row: Record<string, unknown>) => ({
        id: row.id as string,
        title: row.title as string,
        updatedAt: Number(row.updated_at),
        bytes: Number(row.bytes),
        messages: Number(row.messages),
      }))
    },

    async import(doc) {
      const { session: source, messages, turns, summaries } = readExport(doc)
      return sql.begin(async (tx) => {
        const sessionId = Id.create("ses")
        const row = importedSession(source, sessionId, messages.length, Date.now())
        await tx`
          INSERT INTO sessions (id, title, created_at, updated_at, provider, pending_provider, channel, channel_key,
                                metadata, message_count, usage_input, usage_output, usage_cached)
          VALUES (${row.id}, ${cleanOrNull(row.title)}, ${row.created_at}, ${row.updated_at}, ${row.provider}, NULL,
                  ${row.channel}, ${row.channel_key}, ${row.metadata}, ${row.message_count}, ${row.usage_input},
                  ${row.usage_output}, ${row.usage_cached})`
        const turnIds = new Map<string, string>()
        for (const turn of turns) {
          const id = Id.create("turn")
          turnIds.set(String(turn.id), id)
          const t = importedTurn(turn, id, sessionId)
          await tx`
            INSERT INTO turns (id, session_id, status, source, provider, error, usage, steps, tool_calls, created_at,
                               started_at, ended_at)
            VALUES (${t.id}, ${t.session_id}, ${t.status}, ${t.source}, ${t.provider}, ${cleanOrNull(t.error)},
                    ${t.usage}, ${t.steps}, ${t.tool_calls}, ${t.created_at}, ${t.started_at}, ${t.ended_at})`
        }
        const seqs = new Map<number, number>()
        for (const message of messages) {
          const m = importedMessage(message, sessionId, turnIds)
          const role = String(m.role)
          let parts: Part[] = []
          try {
            parts = JSON.parse(String(m.parts)) as Part[]
          } catch {
            // Parts that are not JSON are stored as they came (as on SQLite); nothing of them is searchable.
          }
          const [stored] = await tx`
            INSERT INTO messages (id, session_id, turn_id, role, parts, provider, usage, created_at, body)
            VALUES (${m.id}, ${m.session_id}, ${m.turn_id}, ${role}, ${m.parts}, ${m.provider}, ${m.usage},
                    ${m.created_at}, ${Array.isArray(parts) ? bodyOf(role, parts) : null})
            RETURNING seq`
          seqs.set(Number(message.seq), Number(stored.seq))
        }
        for (const summary of summaries) {
          const s = importedSummary(summary, sessionId, seqs)
          await tx`
            INSERT INTO summaries (id, session_id, upto_seq, text, source, created_at)
            VALUES (${s.id}, ${s.session_id}, ${s.upto_seq}, ${cleanOrNull(s.text)}, ${s.source}, ${s.created_at})`
        }
        return { sessionId, messages: messages.length }
      })
    },
  }
}
