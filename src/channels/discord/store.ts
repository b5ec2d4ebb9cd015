/**
 * The Discord channel's own durable state, keyed by the bot's id (never the token); the inbox and the
 * conversation → session map are the contract's (src/store/channels.ts, through the host):
 * - the Gateway session (id, sequence, resume URL), so a restarted gateway RESUMEs and Discord replays
 *   the dispatches it missed instead of a fresh IDENTIFY that would skip them;
 * - pairing codes and the users they approved (`drost discord approve`), and whether the running
 *   channel has told them yet.
 * The tables are the channel's own, created on first use.
 */
import type { Database } from "bun:sqlite"

/** An unapproved pairing code lives this long. */
export const PAIRING_TTL_MS = 15 * 60 * 1000
/** Codes one user can be issued per hour: a stranger cannot fill the table. */
const MAX_PER_USER = 3
/** Unambiguous characters only: codes are read off a phone and typed into a shell. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS discord_gateway (
    bot_id TEXT NOT NULL, shard INTEGER NOT NULL, session TEXT NOT NULL,
    PRIMARY KEY (bot_id, shard)
  );
  CREATE TABLE IF NOT EXISTS discord_pairings (
    code TEXT PRIMARY KEY, bot_id TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    name TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER,
    notified_at INTEGER
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

    /** Approvals of this bot whose user has not been told yet (the channel tells them, then `notified`). */
    unnotified(): { code: string; userId: string; conversation: string }[] {
      return (
        db
          .query(
            "SELECT code, user_id, conversation FROM discord_pairings WHERE bot_id = ? AND approved_at IS NOT NULL AND notified_at IS NULL",
          )
          .all(botId) as { code: string; user_id: string; conversation: string }[]
      ).map((row) => ({ code: row.code, userId: row.user_id, conversation: row.conversation }))
    },
    notified(code: string) {
      db.prepare("UPDATE discord_pairings SET notified_at = ? WHERE code = ?").run(Date.now(), code)
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
