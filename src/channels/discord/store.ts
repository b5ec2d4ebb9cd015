/**
 * The Discord channel's durable state, keyed by the bot's id (never the token):
 * - the inbox: every MESSAGE_CREATE is written here before it is handled, and marked done in the same
 *   transaction that makes its user message durable (or once its refusal or command answer was sent).
 *   Done rows stay a day as "seen": a dispatch replayed after a RESUME, or received twice, is refused,
 *   so nothing is answered twice; what a crash left pending is handled after the restart;
 * - which session each conversation (a DM, a guild channel, a thread) talks to;
 * - the Gateway session (id, sequence, resume URL), so a restarted gateway RESUMEs and Discord replays
 *   the dispatches it missed instead of a fresh IDENTIFY that would skip them;
 * - pairing codes and the users they approved.
 * The tables are the channel's own, created on first use.
 */
import type { Database } from "bun:sqlite"

/** A handled event is remembered this long, so a late redelivery is still refused. */
const SEEN_MS = 24 * 60 * 60 * 1000
/** An unapproved pairing code lives this long. */
export const PAIRING_TTL_MS = 15 * 60 * 1000
/** Codes one user can be issued per hour: a stranger cannot fill the table. */
const MAX_PER_USER = 3
/** Unambiguous characters only: codes are read off a phone and typed into a shell. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS discord_inbox (
    bot_id TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
    received_at INTEGER NOT NULL, done_at INTEGER,
    PRIMARY KEY (bot_id, event_id)
  );
  CREATE TABLE IF NOT EXISTS discord_conversations (
    bot_id TEXT NOT NULL, conversation TEXT NOT NULL, session_id TEXT NOT NULL,
    PRIMARY KEY (bot_id, conversation)
  );
  CREATE TABLE IF NOT EXISTS discord_gateway (
    bot_id TEXT NOT NULL, shard INTEGER NOT NULL, session TEXT NOT NULL,
    PRIMARY KEY (bot_id, shard)
  );
  CREATE TABLE IF NOT EXISTS discord_pairings (
    code TEXT PRIMARY KEY, bot_id TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    name TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER
  );
`

export interface DiscordPairing {
  code: string
  userId: string
  name: string
  expiresAt: number
  approvedAt: number | null
}

export type DiscordStore = ReturnType<typeof createDiscordStore>

export function createDiscordStore(db: Database, botId: string) {
  db.run(SCHEMA)
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  return {
    /** One IMMEDIATE transaction; other stores' writes inside it join it. */
    transaction: tx,

    /** Store an event before handling it; false when it was received before (drop it). */
    receive(eventId: string, payload: unknown): boolean {
      const now = Date.now()
      return tx(() => {
        db.prepare("DELETE FROM discord_inbox WHERE bot_id = ? AND done_at < ?").run(botId, now - SEEN_MS)
        const result = db
          .prepare("INSERT OR IGNORE INTO discord_inbox (bot_id, event_id, payload, received_at) VALUES (?, ?, ?, ?)")
          .run(botId, eventId, JSON.stringify(payload), now)
        return result.changes === 1
      })
    },
    /** Events received and not done, oldest first. */
    pending(): { eventId: string; payload: unknown }[] {
      const rows = db
        .query(
          "SELECT event_id, payload FROM discord_inbox WHERE bot_id = ? AND done_at IS NULL ORDER BY received_at, rowid",
        )
        .all(botId) as { event_id: string; payload: string }[]
      return rows.map((row) => ({ eventId: row.event_id, payload: JSON.parse(row.payload) }))
    },
    done(eventIds: string[]) {
      const mark = db.prepare("UPDATE discord_inbox SET done_at = ? WHERE bot_id = ? AND event_id = ?")
      tx(() => {
        for (const id of eventIds) mark.run(Date.now(), botId, id)
      })
    },

    gatewaySession<T>(shard: number): T | null {
      const row = db.query("SELECT session FROM discord_gateway WHERE bot_id = ? AND shard = ?").get(botId, shard) as {
        session: string
      } | null
      return row ? (JSON.parse(row.session) as T) : null
    },
    setGatewaySession(shard: number, session: unknown | null) {
      if (session === null) db.prepare("DELETE FROM discord_gateway WHERE bot_id = ? AND shard = ?").run(botId, shard)
      else
        db.prepare(
          "INSERT INTO discord_gateway (bot_id, shard, session) VALUES (?, ?, ?) ON CONFLICT (bot_id, shard) DO UPDATE SET session = excluded.session",
        ).run(botId, shard, JSON.stringify(session))
    },

    session(conversation: string): string | null {
      const row = db
        .query("SELECT session_id FROM discord_conversations WHERE bot_id = ? AND conversation = ?")
        .get(botId, conversation) as { session_id: string } | null
      return row?.session_id ?? null
    },
    setSession(conversation: string, sessionId: string) {
      db.prepare(
        "INSERT INTO discord_conversations (bot_id, conversation, session_id) VALUES (?, ?, ?) ON CONFLICT (bot_id, conversation) DO UPDATE SET session_id = excluded.session_id",
      ).run(botId, conversation, sessionId)
    },

    approved(userId: string): boolean {
      return !!db
        .query("SELECT 1 FROM discord_pairings WHERE bot_id = ? AND user_id = ? AND approved_at IS NOT NULL")
        .get(botId, userId)
    },
    /** An open code for this user again, or a new one; null when the user was issued too many this hour. */
    request(input: { userId: string; conversation: string; name: string }) {
      const now = Date.now()
      return tx(() => {
        const open = db
          .query(
            "SELECT code, expires_at FROM discord_pairings WHERE bot_id = ? AND user_id = ? AND approved_at IS NULL AND expires_at > ?",
          )
          .get(botId, input.userId, now) as { code: string; expires_at: number } | null
        if (open) return { code: open.code, created: false, expiresAt: open.expires_at }
        const recent = db
          .query("SELECT COUNT(*) AS n FROM discord_pairings WHERE bot_id = ? AND user_id = ? AND created_at > ?")
          .get(botId, input.userId, now - 60 * 60 * 1000) as { n: number }
        if (recent.n >= MAX_PER_USER) return null
        const bytes = crypto.getRandomValues(new Uint8Array(8))
        const code = [...bytes].map((byte) => ALPHABET[byte % ALPHABET.length]).join("")
        db.prepare(
          "INSERT INTO discord_pairings (code, bot_id, user_id, conversation, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ).run(code, botId, input.userId, input.conversation, input.name, now, now + PAIRING_TTL_MS)
        return { code, created: true, expiresAt: now + PAIRING_TTL_MS }
      })
    },
    /** Approve an open code; the approved pairing, or null when no open code matches. */
    approve(code: string): DiscordPairing | null {
      const row = db
        .query(
          "SELECT code, user_id, name, expires_at FROM discord_pairings WHERE bot_id = ? AND code = ? AND approved_at IS NULL AND expires_at > ?",
        )
        .get(botId, code.trim().toUpperCase(), Date.now()) as {
        code: string
        user_id: string
        name: string
        expires_at: number
      } | null
      if (!row) return null
      const at = Date.now()
      db.prepare("UPDATE discord_pairings SET approved_at = ? WHERE code = ?").run(at, row.code)
      return { code: row.code, userId: row.user_id, name: row.name, expiresAt: row.expires_at, approvedAt: at }
    },
  }
}

/**
 * The owner's side of pairing (`drost discord approve` / `pairings` / `revoke`), across the workspace's
 * bots: a code is unique, so it needs no bot id (which only the token tells).
 */
export function createDiscordPairings(db: Database) {
  db.run(SCHEMA)
  return {
    approve(code: string): DiscordPairing | null {
      const row = db
        .query("SELECT bot_id FROM discord_pairings WHERE code = ? AND approved_at IS NULL AND expires_at > ?")
        .get(code.trim().toUpperCase(), Date.now()) as { bot_id: string } | null
      return row ? createDiscordStore(db, row.bot_id).approve(code) : null
    },
    list(): (DiscordPairing & { botId: string })[] {
      const rows = db
        .query(
          "SELECT code, bot_id, user_id, name, expires_at, approved_at FROM discord_pairings WHERE approved_at IS NOT NULL OR expires_at > ? ORDER BY created_at",
        )
        .all(Date.now()) as {
        code: string
        bot_id: string
        user_id: string
        name: string
        expires_at: number
        approved_at: number | null
      }[]
      return rows.map((row) => ({
        code: row.code,
        botId: row.bot_id,
        userId: row.user_id,
        name: row.name,
        expiresAt: row.expires_at,
        approvedAt: row.approved_at,
      }))
    },
    /** Withdraw a user's approvals; false when there were none. */
    revoke(userId: string): boolean {
      return (
        db.prepare("DELETE FROM discord_pairings WHERE user_id = ? AND approved_at IS NOT NULL").run(userId).changes > 0
      )
    },
  }
}
