/**
 * The Slack channel's durable state, keyed by `<team>:<bot user>` (never a token):
 * - the inbox: an Events API envelope is written here before it is acknowledged, and marked done in
 *   the same transaction that makes its user message durable (or once a command or refusal was
 *   answered). Slack sends an unacknowledged envelope again, and a gateway that crashed after the ack
 *   finds it here: nothing is lost. A redelivered event id is refused: nothing is handled twice.
 *   Done rows are kept a day, long enough to refuse Slack's retries;
 * - which session each conversation (a DM, or a thread) talks to.
 * The tables are created here on first use: they belong to this channel alone.
 */
import type { Database } from "bun:sqlite"

const KEEP_DONE_MS = 24 * 60 * 60 * 1000

export interface InboxEntry {
  eventId: string
  payload: unknown
}

export function createSlackStore(db: Database, scope: string) {
  db.run(`CREATE TABLE IF NOT EXISTS slack_inbox (
    scope TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
    received_at INTEGER NOT NULL, done_at INTEGER,
    PRIMARY KEY (scope, event_id))`)
  db.run(`CREATE TABLE IF NOT EXISTS slack_conversations (
    scope TEXT NOT NULL, conversation TEXT NOT NULL, session_id TEXT NOT NULL,
    PRIMARY KEY (scope, conversation))`)
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  const insert = db.query(
    "INSERT OR IGNORE INTO slack_inbox (scope, event_id, payload, received_at) VALUES (?, ?, ?, ?)",
  )
  const markDone = db.query("UPDATE slack_inbox SET done_at = ? WHERE scope = ? AND event_id = ? AND done_at IS NULL")
  return {
    transaction: tx,
    /** Store an event; false when it was received before (a retry: acknowledge it and drop it). */
    receive(eventId: string, payload: unknown): boolean {
      return tx(() => {
        db.query("DELETE FROM slack_inbox WHERE scope = ? AND done_at < ?").run(scope, Date.now() - KEEP_DONE_MS)
        return insert.run(scope, eventId, JSON.stringify(payload), Date.now()).changes === 1
      })
    },
    pending(): InboxEntry[] {
      return db
        .query<{ event_id: string; payload: string }, [string]>(
          "SELECT event_id, payload FROM slack_inbox WHERE scope = ? AND done_at IS NULL ORDER BY received_at, rowid",
        )
        .all(scope)
        .map((row) => ({ eventId: row.event_id, payload: JSON.parse(row.payload) as unknown }))
    },
    done(eventIds: string[]) {
      tx(() => {
        for (const id of eventIds) markDone.run(Date.now(), scope, id)
      })
    },
    session(conversation: string): string | null {
      return (
        db
          .query<{ session_id: string }, [string, string]>(
            "SELECT session_id FROM slack_conversations WHERE scope = ? AND conversation = ?",
          )
          .get(scope, conversation)?.session_id ?? null
      )
    },
    setSession(conversation: string, sessionId: string) {
      db.query(
        "INSERT INTO slack_conversations (scope, conversation, session_id) VALUES (?, ?, ?) ON CONFLICT (scope, conversation) DO UPDATE SET session_id = excluded.session_id",
      ).run(scope, conversation, sessionId)
    },
  }
}

export type SlackStore = ReturnType<typeof createSlackStore>
