/**
 * Summaries of a session's older messages. Compaction never deletes a message: it records "everything
 * up to seq N reads as this text", and the view sent to a provider starts with the newest summary and
 * continues with the messages after N.
 */
import type { Database } from "bun:sqlite"
import { Id } from "../core/id.ts"

export interface Summary {
  id: string
  sessionId: string
  /** The last message seq this summary covers. */
  uptoSeq: number
  text: string
  /** `model` (written by the session's provider), `fallback` (deterministic), or `continuity` (/new). */
  source: "model" | "fallback" | "continuity"
  createdAt: number
}

interface Row {
  id: string
  session_id: string
  upto_seq: number
  text: string
  source: Summary["source"]
  created_at: number
}

const toSummary = (row: Row): Summary => ({
  id: row.id,
  sessionId: row.session_id,
  uptoSeq: row.upto_seq,
  text: row.text,
  source: row.source,
  createdAt: row.created_at,
})

export type SummaryStore = ReturnType<typeof createSummaryStore>

export function createSummaryStore(db: Database) {
  const latest = db.query<Row, { sessionId: string }>(
    "SELECT * FROM summaries WHERE session_id = $sessionId ORDER BY upto_seq DESC, created_at DESC LIMIT 1",
  )
  const all = db.query<Row, { sessionId: string }>(
    "SELECT * FROM summaries WHERE session_id = $sessionId ORDER BY upto_seq",
  )
  const insert = db.query(
    "INSERT INTO summaries (id, session_id, upto_seq, text, source, created_at) VALUES ($id, $sessionId, $uptoSeq, $text, $source, $now)",
  )
  // Every turn asks for its session's newest summary; they change only through add() below (an import
  // writes summaries only for sessions it creates), so the answer is kept per session.
  const newest = new Map<string, Summary | null>()
  return {
    latest: (sessionId: string): Summary | null => {
      if (newest.has(sessionId)) return newest.get(sessionId)!
      const row = latest.get({ sessionId })
      const summary = row ? toSummary(row) : null
      if (newest.size >= 4096) newest.clear()
      newest.set(sessionId, summary)
      return summary
    },
    list: (sessionId: string): Summary[] => all.all({ sessionId }).map(toSummary),
    add(input: Omit<Summary, "id" | "createdAt">): Summary {
      const summary: Summary = { ...input, id: Id.create("sum"), createdAt: Date.now() }
      insert.run({
        id: summary.id,
        sessionId: summary.sessionId,
        uptoSeq: summary.uptoSeq,
        text: summary.text,
        source: summary.source,
        now: summary.createdAt,
      })
      newest.delete(summary.sessionId)
      return summary
    },
  }
}
