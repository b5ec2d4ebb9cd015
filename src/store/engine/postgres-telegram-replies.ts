/**
 * Telegram replies owed to accepted messages (contract.ts TelegramRepliesContract) on PostgreSQL: the
 * same table and statements as src/store/telegram-replies.ts (SQLite's), each one round trip.
 */
import type { SQL } from "bun"
import { scopeOf } from "../telegram.ts"
import type { OwedReply, TelegramRepliesContract, Turn } from "./contract.ts"

type Row = Record<string, unknown>

export function postgresTelegramReplies(sql: SQL): TelegramRepliesContract {
  const num = (value: unknown) => Number(value)
  const upsert = (botId: string, reply: Omit<OwedReply, "createdAt">, onlyUnaccepted: boolean) => {
    const guard = onlyUnaccepted ? sql`WHERE telegram_replies.turn_id IS NULL` : sql``
    return sql`
      INSERT INTO telegram_replies (bot_id, update_id, chat_id, message_id, session_id, holder, turn_id, created_at)
      VALUES (${botId}, ${reply.key}, ${reply.chatId}, ${reply.messageId}, ${reply.sessionId}, ${reply.holder},
              ${reply.turnId}, ${Date.now()})
      ON CONFLICT (bot_id, update_id) DO UPDATE SET chat_id = excluded.chat_id, message_id = excluded.message_id,
        session_id = excluded.session_id, holder = excluded.holder, turn_id = excluded.turn_id ${guard}`
  }
  return {
    async owe(botId, reply) {
      await upsert(botId, { ...reply, turnId: null }, true)
    },
    async accepted(botId, reply) {
      await upsert(botId, reply, false)
    },
    async owed(botId) {
      const rows: Row[] = await sql`
        SELECT r.update_id, r.chat_id, r.message_id, r.session_id, r.holder, r.turn_id, r.created_at, r.answer_id,
               (i.event_id IS NOT NULL AND i.done_at IS NULL) AS pending, t.status, t.error
        FROM telegram_replies r
        LEFT JOIN channel_inbox i ON i.scope = ${scopeOf(botId)} AND i.event_id = r.update_id::text
        LEFT JOIN turns t ON t.id = r.turn_id
        WHERE r.bot_id = ${botId} ORDER BY r.created_at, r.update_id`
      return rows.map((row) => ({
        key: num(row.update_id),
        chatId: num(row.chat_id),
        messageId: num(row.message_id),
        sessionId: String(row.session_id),
        holder: String(row.holder),
        turnId: row.turn_id === null ? null : String(row.turn_id),
        createdAt: num(row.created_at),
        pending: Boolean(row.pending),
        turn: row.status ? { status: row.status as Turn["status"], error: (row.error as string | null) ?? null } : null,
        answerId: row.answer_id === null ? null : num(row.answer_id),
      }))
    },
    async claim(botId, key, from, to) {
      const claimed = await sql`UPDATE telegram_replies SET holder = ${to}
                                WHERE bot_id = ${botId} AND update_id = ${key} AND holder = ${from}`
      return claimed.count === 1
    },
    async posted(botId, key, answerId) {
      await sql`UPDATE telegram_replies SET answer_id = ${answerId} WHERE bot_id = ${botId} AND update_id = ${key}`
    },
    async settle(botId, key, turnId) {
      await sql`DELETE FROM telegram_replies WHERE bot_id = ${botId} AND update_id = ${key}
                AND turn_id IS NOT DISTINCT FROM ${turnId}`
    },
  }
}
