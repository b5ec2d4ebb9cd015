/**
 * The Telegram channel's durable state, keyed by bot id (the digits before the token's colon; the
 * token itself is never stored):
 * - the polling offset and the lease that lets exactly one gateway poll a bot;
 * - the inbox: every fetched update is written here (with the next offset, in one transaction) before
 *   Telegram is told it was received, and deleted in the same transaction that makes its user message
 *   durable, so a crash neither loses an update nor handles it twice;
 * - which session each chat talks to;
 * - pairing codes and the users they approved.
 * Used by the channel, `drost telegram …` and the Control API alike.
 */
import type { Database } from "bun:sqlite"

export interface Pairing {
  code: string
  botId: string
  userId: number
  chatId: number
  name: string
  createdAt: number
  expiresAt: number
  approvedAt: number | null
  notifiedAt: number | null
}

interface PairingRow {
  code: string
  bot_id: string
  user_id: number
  chat_id: number
  name: string
  created_at: number
  expires_at: number
  approved_at: number | null
  notified_at: number | null
}

const toPairing = (row: PairingRow): Pairing => ({
  code: row.code,
  botId: row.bot_id,
  userId: row.user_id,
  chatId: row.chat_id,
  name: row.name,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  approvedAt: row.approved_at,
  notifiedAt: row.notified_at,
})

/** Unambiguous characters only (no 0/O, 1/I/L): codes are read off a phone and typed into a shell. */
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
/** An unapproved code lives this long: long enough to ask the owner, short enough not to pile up. */
export const PAIRING_TTL_MS = 15 * 60 * 1000
/** Open codes per bot; when full, the oldest gives way, so strangers cannot use up the codes. */
export const MAX_PENDING = 50
/** Codes one user can be issued per `ISSUE_WINDOW_MS`: a stranger pushed out cannot push back in a loop. */
export const MAX_PER_USER = 3
export const ISSUE_WINDOW_MS = 60 * 60 * 1000
/** Expired codes kept at most (the newest), whatever the number of strangers within the hour. */
const MAX_KEPT = 1000

export function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return [...bytes].map((byte) => ALPHABET[byte % ALPHABET.length]).join("")
}

export type TelegramStore = ReturnType<typeof createTelegramStore>

export function createTelegramStore(db: Database) {
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  const ensure = db.prepare("INSERT OR IGNORE INTO telegram_bots (bot_id) VALUES (?)")

  return {
    /** Runs `fn` in one IMMEDIATE transaction (nested writes of other stores join it). */
    transaction: tx,

    offset(botId: string): number {
      const row = db.query("SELECT next_offset FROM telegram_bots WHERE bot_id = ?").get(botId) as {
        next_offset: number
      } | null
      return row?.next_offset ?? 0
    },

    /** Persist a fetched batch and the offset that acknowledges it, atomically. Returns the new offset. */
    receive(botId: string, updates: { update_id: number }[]): number {
      return tx(() => {
        ensure.run(botId)
        const insert = db.prepare(
          "INSERT OR IGNORE INTO telegram_inbox (bot_id, update_id, payload, received_at) VALUES (?, ?, ?, ?)",
        )
        const now = Date.now()
        let next = this.offset(botId)
        for (const update of updates) {
          insert.run(botId, update.update_id, JSON.stringify(update), now)
          next = Math.max(next, update.update_id + 1)
        }
        db.prepare("UPDATE telegram_bots SET next_offset = ? WHERE bot_id = ?").run(next, botId)
        return next
      })
    },

    /** Updates received but not yet handled (a crash interrupted them), oldest first. */
    pending(botId: string): unknown[] {
      const rows = db.query("SELECT payload FROM telegram_inbox WHERE bot_id = ? ORDER BY update_id").all(botId) as {
        payload: string
      }[]
      return rows.map((row) => JSON.parse(row.payload))
    },

    /** Mark updates handled. Call inside the transaction that makes their effect durable. */
    done(botId: string, updateIds: number[]) {
      const remove = db.prepare("DELETE FROM telegram_inbox WHERE bot_id = ? AND update_id = ?")
      tx(() => {
        for (const id of updateIds) remove.run(botId, id)
      })
    },

    /**
     * Take or renew the polling lease. A holder on this host whose process is gone (kill -9) is
     * replaced at once; any other holder only after its lease expired.
     */
    lease(
      botId: string,
      holder: string,
      ttlMs: number,
      alive: (holder: string) => boolean,
    ): { ok: true } | { ok: false; holder: string; until: number } {
      return tx(() => {
        ensure.run(botId)
        const row = db.query("SELECT lease_holder, lease_until FROM telegram_bots WHERE bot_id = ?").get(botId) as {
          lease_holder: string | null
          lease_until: number
        }
        const now = Date.now()
        if (row.lease_holder && row.lease_holder !== holder && row.lease_until > now && alive(row.lease_holder))
          return { ok: false as const, holder: row.lease_holder, until: row.lease_until }
        db.prepare("UPDATE telegram_bots SET lease_holder = ?, lease_until = ? WHERE bot_id = ?").run(
          holder,
          now + ttlMs,
          botId,
        )
        return { ok: true as const }
      })
    },

    release(botId: string, holder: string) {
      db.prepare(
        "UPDATE telegram_bots SET lease_holder = NULL, lease_until = 0 WHERE bot_id = ? AND lease_holder = ?",
      ).run(botId, holder)
    },

    session(botId: string, chatId: number): string | null {
      const row = db
        .query("SELECT session_id FROM telegram_chats WHERE bot_id = ? AND chat_id = ?")
        .get(botId, chatId) as { session_id: string } | null
      return row?.session_id ?? null
    },

    setSession(botId: string, chatId: number, sessionId: string) {
      db.prepare(
        "INSERT INTO telegram_chats (bot_id, chat_id, session_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (bot_id, chat_id) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at",
      ).run(botId, chatId, sessionId, Date.now())
    },

    /**
     * The open (unexpired, unapproved) code for a user, or a new one; null when this user was issued
     * `MAX_PER_USER` codes within the last hour. A full table expires its oldest open code (oldest out
     * first). Expired codes are kept for an hour, unusable, so they count against their user's limit.
     */
    pairingFor(input: {
      botId: string
      userId: number
      chatId: number
      name: string
    }): { pairing: Pairing; created: boolean } | null {
      return tx(() => {
        const now = Date.now()
        const open = db
          .query(
            "SELECT * FROM telegram_pairings WHERE bot_id = ? AND user_id = ? AND approved_at IS NULL AND expires_at > ?",
          )
          .get(input.botId, input.userId, now) as PairingRow | null
        if (open) return { pairing: toPairing(open), created: false }
        db.prepare("DELETE FROM telegram_pairings WHERE approved_at IS NULL AND created_at <= ?").run(
          now - ISSUE_WINDOW_MS,
        )
        const issued = (
          db
            .query(
              "SELECT COUNT(*) AS n FROM telegram_pairings WHERE bot_id = ? AND user_id = ? AND approved_at IS NULL",
            )
            .get(input.botId, input.userId) as { n: number }
        ).n
        if (issued >= MAX_PER_USER) return null
        const count = (
          db
            .query(
              "SELECT COUNT(*) AS n FROM telegram_pairings WHERE bot_id = ? AND approved_at IS NULL AND expires_at > ?",
            )
            .get(input.botId, now) as { n: number }
        ).n
        if (count >= MAX_PENDING)
          db.prepare(
            "UPDATE telegram_pairings SET expires_at = ? WHERE code IN (SELECT code FROM telegram_pairings WHERE bot_id = ? AND approved_at IS NULL AND expires_at > ? ORDER BY created_at, rowid LIMIT ?)",
          ).run(now, input.botId, now, count - MAX_PENDING + 1)
        const code = newCode()
        db.prepare(
          "INSERT INTO telegram_pairings (code, bot_id, user_id, chat_id, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ).run(code, input.botId, input.userId, input.chatId, input.name, now, now + PAIRING_TTL_MS)
        db.prepare(
          "DELETE FROM telegram_pairings WHERE code IN (SELECT code FROM telegram_pairings WHERE approved_at IS NULL AND expires_at <= ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
        ).run(now, MAX_KEPT)
        return {
          pairing: toPairing(db.query("SELECT * FROM telegram_pairings WHERE code = ?").get(code) as PairingRow),
          created: true,
        }
      })
    },

    /** Approve a pending code. Null when no unexpired, unapproved pairing has that code. */
    approve(code: string): Pairing | null {
      const normalized = code.trim().toUpperCase()
      return tx(() => {
        const row = db
          .query("SELECT * FROM telegram_pairings WHERE code = ? AND approved_at IS NULL AND expires_at > ?")
          .get(normalized, Date.now()) as PairingRow | null
        if (!row) return null
        db.prepare("UPDATE telegram_pairings SET approved_at = ? WHERE code = ?").run(Date.now(), normalized)
        return toPairing(db.query("SELECT * FROM telegram_pairings WHERE code = ?").get(normalized) as PairingRow)
      })
    },

    /** Remove every approval of a user (they need a new code). Returns how many were removed. */
    revoke(userId: number): number {
      return db.prepare("DELETE FROM telegram_pairings WHERE user_id = ? AND approved_at IS NOT NULL").run(userId)
        .changes
    },

    approved(botId: string, userId: number): boolean {
      return (
        db
          .query("SELECT 1 FROM telegram_pairings WHERE bot_id = ? AND user_id = ? AND approved_at IS NOT NULL LIMIT 1")
          .get(botId, userId) !== null
      )
    },

    list(): Pairing[] {
      const rows = db
        .query(
          "SELECT * FROM telegram_pairings WHERE approved_at IS NOT NULL OR expires_at > ? ORDER BY created_at DESC",
        )
        .all(Date.now()) as PairingRow[]
      return rows.map(toPairing)
    },

    /** Approvals the user has not been told about yet (approved from the CLI or the Control API). */
    unnotified(botId: string): Pairing[] {
      const rows = db
        .query("SELECT * FROM telegram_pairings WHERE bot_id = ? AND approved_at IS NOT NULL AND notified_at IS NULL")
        .all(botId) as PairingRow[]
      return rows.map(toPairing)
    },

    notified(code: string) {
      db.prepare("UPDATE telegram_pairings SET notified_at = ? WHERE code = ?").run(Date.now(), code)
    },
  }
}
