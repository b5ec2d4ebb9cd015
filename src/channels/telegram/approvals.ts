/**
 * Approvals in Telegram: when a call in a session this bot owns waits for a person, the chat gets a
 * message with inline buttons (Approve / Deny / Allow for this session). A press is a `callback_query`;
 * it decides only when it comes from the chat that owns the session and from an allowed user (the
 * same `allowedUsers` and pairing rules as messages); anyone else gets an alert and nothing changes.
 * Every press is answered (answerCallbackQuery) so the button stops spinning, and once the approval
 * is decided — here, in the terminal, over the API, or by the timeout — the keyboard is replaced
 * (editMessageReplyMarkup) by one that shows the decision.
 *
 * Presses skip the chat's lane on purpose: that lane is busy with the very turn that waits.
 */
import type { Api } from "grammy"
import type { CallbackQuery, InlineKeyboardMarkup, Update } from "grammy/types"
import type { Choice, Decided, Pending } from "../../approval/approval.ts"
import { ApprovalEvent } from "../../approval/events.ts"
import { duration } from "../../approval/service.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import type { Logger } from "../../util/log.ts"
import { TelegramEvent } from "./events.ts"
import type { Pacer } from "./pacer.ts"
import { escapeHtml } from "./render.ts"
import { AGENT_CHANNEL } from "../../agent/jobs.ts"

export interface ApprovalButtonsDeps {
  gw: Gateway
  api: Api
  botId: string
  log: Logger
  pacer(chatId: number): Pacer
  /** Allowed to talk to the bot (allowedUsers or paired). */
  allowed(userId: number): boolean
  /** Mark updates handled in the inbox. */
  done(updateIds: number[]): void
}

const CHOICES: Record<string, Choice> = { a: "approve", d: "deny", s: "session" }
const DATA = /^apr:(apr_[a-z0-9]{1,40}):([adsx])$/

function keyboard(id: string): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      [
        { text: "✅ Approve", callback_data: `apr:${id}:a` },
        { text: "❌ Deny", callback_data: `apr:${id}:d` },
      ],
      [{ text: "✅ Allow for this session", callback_data: `apr:${id}:s` }],
    ],
  }
}

/** The keyboard after the decision: one button that says what happened (pressing it changes nothing). */
function outcome(decided: Decided): InlineKeyboardMarkup {
  // A press in this chat needs no name; another route says which (control-api, terminal).
  const who = decided.by.startsWith("telegram:") || decided.by === "system" ? "" : ` (${decided.by})`
  const text =
    decided.decision === "approve"
      ? `✅ Approved${who}`
      : decided.decision === "session"
        ? `✅ Allowed for this session${who}`
        : decided.decision === "deny"
          ? `❌ Denied${who}`
          : decided.decision === "timeout"
            ? "⌛ Nobody decided: denied"
            : "⏹ Not run (the call ended)"
  return { inline_keyboard: [[{ text, callback_data: `apr:${decided.id}:x` }]] }
}

function describe(pending: Pending): string {
  let args = JSON.stringify(pending.args, null, 2) ?? "{}"
  if (args.length > 1500) args = `${args.slice(0, 1500)}\n…`
  return [
    `🔐 <b>Approval needed</b>: the agent wants to call <code>${escapeHtml(pending.tool)}</code>`,
    `<pre>${escapeHtml(args)}</pre>`,
    `Denied automatically in ${duration(pending.expiresAt - pending.requestedAt)} if nobody decides.`,
  ].join("\n")
}

export function createApprovalButtons(deps: ApprovalButtonsDeps) {
  const { gw, api, botId, log } = deps
  /** Approval id → the message that shows its buttons. */
  const shown = new Map<string, { chatId: number; messageId: number }>()
  /** Approvals whose message is still on its way, with their decision if it came first. */
  const sending = new Map<string, Decided | null>()

  /** The chat of a session this bot owns, or null (another channel's or another bot's session). */
  const chatOf = (sessionId: string): number | null => {
    const own = gw.store.get(sessionId)
    // A subagent (agent.spawn) has no chat: its calls are approved in the chat of the session that started it.
    const session = own?.channel === AGENT_CHANNEL && own.channelKey ? gw.store.get(own.channelKey) : own
    if (session?.channel !== "telegram" || !session.channelKey?.startsWith(`${botId}:`)) return null
    const chatId = Number(session.channelKey.slice(botId.length + 1))
    return Number.isSafeInteger(chatId) ? chatId : null
  }

  const ask = async (pending: Pending) => {
    const chatId = chatOf(pending.sessionId)
    if (chatId === null || shown.has(pending.id) || sending.has(pending.id)) return
    sending.set(pending.id, null)
    try {
      const sent = await deps
        .pacer(chatId)
        .run(() =>
          api.sendMessage(chatId, describe(pending), { parse_mode: "HTML", reply_markup: keyboard(pending.id) }),
        )
      shown.set(pending.id, { chatId, messageId: sent.message_id })
      // Decided while the message was on its way: show that at once.
      const early = sending.get(pending.id)
      sending.delete(pending.id)
      if (early) await settle(early)
    } catch (error) {
      log.warn("could not show approval buttons", { id: pending.id, chat: chatId, error: String(error) })
    } finally {
      sending.delete(pending.id)
    }
  }

  const settle = async (decided: Decided): Promise<void> => {
    if (sending.has(decided.id)) {
      sending.set(decided.id, decided)
      return
    }
    const where = shown.get(decided.id)
    if (!where) return
    shown.delete(decided.id)
    await deps
      .pacer(where.chatId)
      .run(() => api.editMessageReplyMarkup(where.chatId, where.messageId, { reply_markup: outcome(decided) }))
      .catch((error) => log.warn("could not show an approval's decision", { id: decided.id, error: String(error) }))
  }

  const answer = (query: CallbackQuery, text: string, alert = false) =>
    api
      .answerCallbackQuery(query.id, { text, show_alert: alert })
      .catch((error) => log.warn("answerCallbackQuery failed", { error: String(error) }))

  /** One button press; always answered, always marked handled. */
  const press = async (update: Update, query: CallbackQuery) => {
    try {
      const match = DATA.exec(query.data ?? "")
      const id = match?.[1]
      const choice = CHOICES[match?.[2] ?? ""]
      const pending = id ? gw.approvals.get(id) : null
      if (!pending || !choice) return await answer(query, "This approval is no longer waiting.")
      const chatId = query.message?.chat.id
      const owner = chatId !== undefined && chatOf(pending.sessionId) === chatId
      if (!owner || query.from.is_bot || !deps.allowed(query.from.id)) {
        gw.bus.publish(TelegramEvent.Ignored, {
          bot: botId,
          userId: query.from.id,
          chatId: chatId ?? 0,
          reason: "approval button pressed by someone who may not decide",
        })
        log.warn("approval press refused", { id: pending.id, user: query.from.id, chat: chatId })
        return await answer(query, "Only an allowed user of this chat can decide this.", true)
      }
      const name = query.from.username ? `@${query.from.username}` : query.from.first_name
      const decided = gw.approvals.decide(pending.id, choice, {
        by: `telegram:${query.from.id}`,
        label: `Telegram user ${name} (${query.from.id})`,
      })
      await answer(
        query,
        decided.approved ? (choice === "session" ? "Allowed for this session" : "Approved") : "Denied",
      )
    } catch (error) {
      log.warn("approval press failed", { error: String(error) })
      await answer(query, "This approval is no longer waiting.")
    } finally {
      deps.done([update.update_id])
    }
  }

  let stops: (() => void)[] = []
  return {
    start() {
      stops = [
        gw.bus.subscribe(ApprovalEvent.Requested, (event) => void ask(event.data)),
        gw.bus.subscribe(ApprovalEvent.Decided, (event) => void settle(event.data)),
      ]
      // Approvals that began before the channel was up (a turn from another client in a Telegram session).
      for (const pending of gw.approvals.list()) void ask(pending)
    },
    stop() {
      for (const stop of stops) stop()
      stops = []
    },
    /** grammY middleware placed before the per-chat lanes: handles callback queries, passes the rest on. */
    middleware: async (ctx: { update: Update }, next: () => Promise<void>) => {
      const query = ctx.update.callback_query
      if (!query) return await next()
      await press(ctx.update, query)
    },
  }
}
