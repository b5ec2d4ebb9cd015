/**
 * The Telegram channel's durable state, keyed by bot id (the digits before the token's colon; the
 * token itself is never stored):
 * - the polling offset and the lease that lets exactly one gateway poll a bot (`telegram_bots`, its own);
 * - the inbox: every fetched update is written (with the next offset, in one transaction) before
 *   Telegram is told it was received, and marked done in the same transaction that makes its user
 *   message durable, so a crash neither loses an update nor handles it twice;
 * - which session each chat talks to;
 * - pairing codes and the users they approved.
 * The inbox, the chats and the pairings are the shared channel store's (src/store/channels.ts: scope
 * `telegram:<bot id>`, conversations `<bot id>:<chat id>` like the sessions' channelKey); this keeps the
 * Telegram-shaped API (numeric ids) that the channel, `drost telegram …` and the Control API use.
 */
import type { Database } from "bun:sqlite"
import { type ChannelPairing, createChannelStore } from "./channels.ts"

export { ISSUE_WINDOW_MS, MAX_PENDING, MAX_PER_USER, newCode, PAIRING_TTL_MS } from "./channels.ts"

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

/** A bot's scope in the shared channel tables (both store engines). */
export const scopeOf = (botId: string) => `telegram:${botId}`
const conversationOf = (botId: string, chatId: number) => `${botId}:${chatId}`

/** A Telegram pairing from its shared channel row (both store engines). */
export const toPairing = (pairing: ChannelPairing): Pairing => ({
  code: pairing.code,
  botId: pairing.scope.slice("telegram:".length),
  userId: Number(pairing.userId),
  chatId: Number(pairing.conversation),
  name: pairing.name,
  createdAt: pairing.createdAt,
  expiresAt: pairing.expiresAt,
  approvedAt: pairing.approvedAt,
  notifiedAt: pairing.notifiedAt,
})

export type TelegramStore = ReturnType<typeof createTelegramStore>

export function createTelegramStore(db: Database) {
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  const ensure = db.prepare("INSERT OR IGNORE INTO telegram_bots (bot_id) VALUES (?)")
  const channels = createChannelStore(db)

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
        let next = this.offset(botId)
        for (const update of updates) {
          channels.receive(scopeOf(botId), String(update.update_id), update)
          next = Math.max(next, update.update_id + 1)
        }
        db.prepare("UPDATE telegram_bots SET next_offset = ? WHERE bot_id = ?").run(next, botId)
        return next
      })
    },

    /** Updates received but not yet handled (a crash interrupted them), oldest first. */
    pending(botId: string): unknown[] {
      return channels
        .pending(scopeOf(botId))
        .map((entry) => entry.payload as { update_id: number })
        .sort((a, b) => a.update_id - b.update_id)
    },

    /** Mark updates handled. Call inside the transaction that makes their effect durable. */
    done(botId: string, updateIds: number[]) {
      channels.done(scopeOf(botId), updateIds.map(String))
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
      return channels.session("telegram", conversationOf(botId, chatId))
    },

    setSession(botId: string, chatId: number, sessionId: string) {
      channels.setSession("telegram", conversationOf(botId, chatId), sessionId)
    },

    /**
     * The open (unexpired, unapproved) code for a user, or a new one; null when this user was issued
     * `MAX_PER_USER` codes within the last hour. A full bot expires its oldest open code (oldest out
     * first). Expired codes are kept for an hour, unusable, so they count against their user's limit.
     */
    pairingFor(input: {
      botId: string
      userId: number
      chatId: number
      name: string
    }): { pairing: Pairing; created: boolean } | null {
      const result = channels.pairingFor({
        scope: scopeOf(input.botId),
        userId: String(input.userId),
        conversation: String(input.chatId),
        name: input.name,
      })
      return result ? { pairing: toPairing(result.pairing), created: result.created } : null
    },

    /** Approve a pending code (a Telegram one). Null when no unexpired, unapproved pairing has that code. */
    approve(code: string): Pairing | null {
      const approved = channels.approve(code, "telegram")
      return approved ? toPairing(approved) : null
    },

    /** Remove every approval of a user (they need a new code). Returns how many were removed. */
    revoke(userId: number): number {
      return channels.revokeAll("telegram:", String(userId))
    },

    approved(botId: string, userId: number): boolean {
      return channels.approved(scopeOf(botId), String(userId))
    },

    list(): Pairing[] {
      return channels.pairings("telegram:").map(toPairing)
    },

    /** Approvals the user has not been told about yet (approved from the CLI or the Control API). */
    unnotified(botId: string): Pairing[] {
      return channels.unnotified(scopeOf(botId)).map(toPairing)
    },

    notified(code: string) {
      channels.notified(code)
    },
  }
}
