/**
 * Approvals in Telegram, on the shared relay (src/channels/approvals.ts): the request is a message with
 * an inline keyboard (Approve / Deny / Allow for this session); a press is a `callback_query`, decided by
 * the relay (only from the chat that owns the session and an allowed user; anyone else gets an alert
 * and nothing changes). Every press is answered (answerCallbackQuery) so the button stops spinning, and
 * once decided the keyboard is replaced (editMessageReplyMarkup) by one that shows the decision.
 *
 * Presses skip the chat's lane on purpose: that lane is busy with the very turn that waits.
 */
import type { Api } from "grammy"
import type { CallbackQuery, InlineKeyboardMarkup, Update } from "grammy/types"
import type { Decided, Pending } from "../../approval/approval.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import type { Logger } from "../../util/log.ts"
import {
  approvalButtons,
  createApprovalRelay,
  describeApproval,
  outcomeLabel,
  parseApprovalData,
} from "../approvals.ts"
import { TelegramEvent } from "./events.ts"
import type { Pacer } from "../pacer.ts"
import { escapeHtml } from "./render.ts"

export interface ApprovalButtonsDeps {
  gw: Gateway
  api: Api
  botId: string
  log: Logger
  pacer(chatId: number): Pacer
  /** Allowed to talk to the bot (allowedUsers or paired). */
  allowed(userId: number): Promise<boolean>
  /** Mark updates handled in the inbox. */
  done(updateIds: number[]): Promise<void>
}

function keyboard(id: string): InlineKeyboardMarkup {
  return {
    inline_keyboard: approvalButtons(id).map((row) =>
      row.map((button) => ({ text: button.label, callback_data: button.data })),
    ),
  }
}

/** The keyboard after the decision: one button that says what happened (pressing it changes nothing). */
function outcome(decided: Decided): InlineKeyboardMarkup {
  const { label, data } = outcomeLabel(decided, "telegram")
  return { inline_keyboard: [[{ text: label, callback_data: data }]] }
}

function describe(pending: Pending): string {
  const { tool, args, deadline } = describeApproval(pending)
  return [
    `🔐 <b>Approval needed</b>: the agent wants to call <code>${escapeHtml(tool)}</code>`,
    `<pre>${escapeHtml(args)}</pre>`,
    deadline,
  ].join("\n")
}

export function createApprovalButtons(deps: ApprovalButtonsDeps) {
  const { gw, api, botId, log } = deps
  const relay = createApprovalRelay<{ chatId: number; messageId: number }>({
    gw,
    kind: "telegram",
    log,
    // Its sessions are keyed `<botId>:<chatId>` (bot.ts).
    conversationOf: (key) => (key.startsWith(`${botId}:`) ? key.slice(botId.length + 1) : null),
    allowed: async (userId) => /^\d+$/.test(userId) && (await deps.allowed(Number(userId))),
    surface: {
      async show(conversation, pending) {
        const chatId = Number(conversation)
        const sent = await deps
          .pacer(chatId)
          .run(() =>
            api.sendMessage(chatId, describe(pending), { parse_mode: "HTML", reply_markup: keyboard(pending.id) }),
          )
        return { chatId, messageId: sent.message_id }
      },
      async settle(where, decided) {
        await deps
          .pacer(where.chatId)
          .run(() => api.editMessageReplyMarkup(where.chatId, where.messageId, { reply_markup: outcome(decided) }))
      },
    },
  })

  const answer = (query: CallbackQuery, text: string, alert = false) =>
    api
      .answerCallbackQuery(query.id, { text, show_alert: alert })
      .catch((error) => log.warn("answerCallbackQuery failed", { error: String(error) }))

  /** One button press; always answered, always marked handled. */
  const press = async (update: Update, query: CallbackQuery) => {
    try {
      const parsed = parseApprovalData(query.data ?? "")
      if (!parsed) return await answer(query, "This approval is no longer waiting.")
      const chatId = query.message?.chat.id
      const name = query.from.username ? `@${query.from.username}` : query.from.first_name
      const result = await relay.press({
        approvalId: parsed.approvalId,
        choice: parsed.choice,
        userId: String(query.from.id),
        conversation: chatId === undefined ? "" : String(chatId),
        bot: query.from.is_bot,
        label: `Telegram user ${name} (${query.from.id})`,
      })
      if (result.refused)
        gw.bus.publish(TelegramEvent.Ignored, {
          bot: botId,
          userId: query.from.id,
          chatId: chatId ?? 0,
          reason: "approval button pressed by someone who may not decide",
        })
      await answer(query, result.text, result.refused)
    } finally {
      await deps.done([update.update_id])
    }
  }

  return {
    start: relay.start,
    stop: relay.stop,
    /** grammY middleware placed before the per-chat lanes: handles callback queries, passes the rest on. */
    middleware: async (ctx: { update: Update }, next: () => Promise<void>) => {
      const query = ctx.update.callback_query
      if (!query) return await next()
      await press(ctx.update, query)
    },
  }
}
