/**
 * Telegram replies owed to accepted messages (engine/contract.ts TelegramRepliesContract) on SQLite:
 * one row per message in `telegram_replies` from before its accept until its answer was sent. Read with
 * the state of its update (the shared channel inbox) and of its turn in one query.
 */
import type { Database } from "bun:sqlite"
import type { OwedReply, OwedReplyState, Turn } from "./engine/contract.ts"
import { scopeOf } from "./telegram.ts"

interface Row {
  update_id: number
  chat_id: number
  message_id: number
  session_id: string
  holder: string
  turn_id: string | null
  created_at: number
  pending: number
  status: Turn["status"] | null
  error: string | null
  answer_id: number | null
}

export function createTelegramReplies(db: Database) {
  const owe = db.query(
    `INSERT INTO telegram_replies (bot_id, update_id, chat_id, message_id, session_id, holder, turn_id, created_at)
     VALUES ($bot, $key, $chat, $message, $session, $holder, NULL, $now)
     ON CONFLICT (bot_id, update_id) DO UPDATE SET chat_id = excluded.chat_id, message_id = excluded.message_id,
       session_id = excluded.session_id, holder = excluded.holder
     WHERE telegram_replies.turn_id IS NULL`,
  )
  const accepted = db.query(
    `INSERT INTO telegram_replies (bot_id, update_id, chat_id, message_id, session_id, holder, turn_id, created_at)
     VALUES ($bot, $key, $chat, $message, $session, $holder, $turn, $now)
     ON CONFLICT (bot_id, update_id) DO UPDATE SET chat_id = excluded.chat_id, message_id = excluded.message_id,
       session_id = excluded.session_id, holder = excluded.holder, turn_id = excluded.turn_id`,
  )
  const owed = db.query<Row, { $bot: string; $scope: string }>(
    `SELECT r.update_id, r.chat_id, r.message_id, r.session_id, r.holder, r.turn_id, r.created_at, r.answer_id,
            (i.event_id IS NOT NULL AND i.done_at IS NULL) AS pending, t.status, t.error
     FROM telegram_replies r
     LEFT JOIN channel_inbox i ON i.scope = $scope AND i.event_id = CAST(r.update_id AS TEXT)
     LEFT JOIN turns t ON t.id = r.turn_id
     WHERE r.bot_id = $bot ORDER BY r.created_at, r.update_id`,
  )
  const claim = db.query(
    "UPDATE telegram_replies SET holder = $to WHERE bot_id = $bot AND update_id = $key AND holder = $from",
  )
  const posted = db.query("UPDATE telegram_replies SET answer_id = $answer WHERE bot_id = $bot AND update_id = $key")
  const settle = db.query("DELETE FROM telegram_replies WHERE bot_id = $bot AND update_id = $key AND turn_id IS $turn")
  const params = (botId: string, reply: Omit<OwedReply, "turnId" | "createdAt">) => ({
    $bot: botId,
    $key: reply.key,
    $chat: reply.chatId,
    $message: reply.messageId,
    $session: reply.sessionId,
    $holder: reply.holder,
    $now: Date.now(),
  })
  return {
    owe(botId: string, reply: Omit<OwedReply, "turnId" | "createdAt">) {
      owe.run(params(botId, reply))
    },
    accepted(botId: string, reply: Omit<OwedReply, "createdAt"> & { turnId: string }) {
      accepted.run({ ...params(botId, reply), $turn: reply.turnId })
    },
    owed(botId: string): OwedReplyState[] {
      return owed.all({ $bot: botId, $scope: scopeOf(botId) }).map((row) => ({
        key: row.update_id,
        chatId: row.chat_id,
        messageId: row.message_id,
        sessionId: row.session_id,
        holder: row.holder,
        turnId: row.turn_id,
        createdAt: row.created_at,
        pending: Boolean(row.pending),
        turn: row.status ? { status: row.status, error: row.error } : null,
        answerId: row.answer_id,
      }))
    },
    claim(botId: string, key: number, from: string, to: string): boolean {
      return claim.run({ $bot: botId, $key: key, $from: from, $to: to }).changes === 1
    },
    posted(botId: string, key: number, answerId: number) {
      posted.run({ $bot: botId, $key: key, $answer: answerId })
    },
    settle(botId: string, key: number, turnId: string | null) {
      settle.run({ $bot: botId, $key: key, $turn: turnId })
    },
  }
}
