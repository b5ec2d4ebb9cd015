/**
 * Pairing for Slack (like Telegram's): with `pairing: true` a stranger who writes a DM gets a one-time
 * code and nothing else; the owner runs `drost slack approve <code>` and that member may talk to the
 * agent from then on. Codes expire after 15 minutes; one member gets at most 3 an hour and at most 50
 * are open per app, the oldest giving way. The tables are this channel's own and are created on first use.
 */
import type { Database } from "bun:sqlite"

export const PAIRING_TTL_MS = 15 * 60 * 1000
const MAX_PENDING = 50
const MAX_PER_USER = 3
const ISSUE_WINDOW_MS = 60 * 60 * 1000
/** Unambiguous characters only: codes are read off a screen and typed into a shell. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

export interface SlackPairing {
  code: string
  scope: string
  userId: string
  conversation: string
  createdAt: number
  expiresAt: number
  approvedAt: number | null
  notifiedAt: number | null
}

interface Row {
  code: string
  scope: string
  user_id: string
  conversation: string
  created_at: number
  expires_at: number
  approved_at: number | null
  notified_at: number | null
}

const toPairing = (row: Row): SlackPairing => ({
  code: row.code,
  scope: row.scope,
  userId: row.user_id,
  conversation: row.conversation,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  approvedAt: row.approved_at,
  notifiedAt: row.notified_at,
})

function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return Array.from(bytes, (byte) => ALPHABET[byte % ALPHABET.length]).join("")
}

export function createSlackPairings(db: Database) {
  db.run(`CREATE TABLE IF NOT EXISTS slack_pairings (
    code TEXT PRIMARY KEY, scope TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER, notified_at INTEGER)`)
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  const count = (sql: string, ...params: (string | number)[]) =>
    db.query<{ n: number }, (string | number)[]>(sql).get(...params)?.n ?? 0
  return {
    /** The open code for this member, or a new one; null when they were issued too many this hour. */
    request(scope: string, userId: string, conversation: string): { pairing: SlackPairing; created: boolean } | null {
      return tx(() => {
        const now = Date.now()
        const open = db
          .query<Row, [string, string, number]>(
            "SELECT * FROM slack_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NULL AND expires_at > ?",
          )
          .get(scope, userId, now)
        if (open) return { pairing: toPairing(open), created: false }
        const issued = count(
          "SELECT COUNT(*) AS n FROM slack_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NULL AND created_at > ?",
          scope,
          userId,
          now - ISSUE_WINDOW_MS,
        )
        if (issued >= MAX_PER_USER) return null
        db.query("DELETE FROM slack_pairings WHERE approved_at IS NULL AND created_at <= ?").run(now - ISSUE_WINDOW_MS)
        const pending = count(
          "SELECT COUNT(*) AS n FROM slack_pairings WHERE scope = ? AND approved_at IS NULL AND expires_at > ?",
          scope,
          now,
        )
        if (pending >= MAX_PENDING)
          db.query(
            "DELETE FROM slack_pairings WHERE code = (SELECT code FROM slack_pairings WHERE scope = ? AND approved_at IS NULL ORDER BY created_at LIMIT 1)",
          ).run(scope)
        const row: Row = {
          code: newCode(),
          scope,
          user_id: userId,
          conversation,
          created_at: now,
          expires_at: now + PAIRING_TTL_MS,
          approved_at: null,
          notified_at: null,
        }
        db.query(
          "INSERT INTO slack_pairings (code, scope, user_id, conversation, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        ).run(row.code, row.scope, row.user_id, row.conversation, row.created_at, row.expires_at)
        return { pairing: toPairing(row), created: true }
      })
    },
    approved(scope: string, userId: string): boolean {
      return (
        count(
          "SELECT COUNT(*) AS n FROM slack_pairings WHERE scope = ? AND user_id = ? AND approved_at IS NOT NULL",
          scope,
          userId,
        ) > 0
      )
    },
    /** Approve an open code; null when no such unexpired code is waiting. */
    approve(code: string): SlackPairing | null {
      return tx(() => {
        const row = db
          .query<Row, [string, number]>(
            "SELECT * FROM slack_pairings WHERE code = ? AND approved_at IS NULL AND expires_at > ?",
          )
          .get(code.trim().toUpperCase(), Date.now())
        if (!row) return null
        const now = Date.now()
        db.query("UPDATE slack_pairings SET approved_at = ? WHERE code = ?").run(now, row.code)
        return toPairing({ ...row, approved_at: now })
      })
    },
    /** Remove a member's approvals; how many there were. */
    revoke(userId: string): number {
      return db.query("DELETE FROM slack_pairings WHERE user_id = ? AND approved_at IS NOT NULL").run(userId).changes
    },
    list(): SlackPairing[] {
      return db
        .query<Row, [number]>(
          "SELECT * FROM slack_pairings WHERE approved_at IS NOT NULL OR expires_at > ? ORDER BY created_at",
        )
        .all(Date.now())
        .map(toPairing)
    },
    /** Approved members not yet told so. */
    unnotified(scope: string): SlackPairing[] {
      return db
        .query<Row, [string]>(
          "SELECT * FROM slack_pairings WHERE scope = ? AND approved_at IS NOT NULL AND notified_at IS NULL",
        )
        .all(scope)
        .map(toPairing)
    },
    notified(code: string) {
      db.query("UPDATE slack_pairings SET notified_at = ? WHERE code = ?").run(Date.now(), code)
    },
  }
}

export type SlackPairings = ReturnType<typeof createSlackPairings>
