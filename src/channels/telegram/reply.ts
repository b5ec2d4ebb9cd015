/**
 * Telegram's reply surface for the shared streamer (src/channels/stream.ts): the typing action, plain
 * previews, the final answer rendered to Telegram HTML and split at 4,096 characters (split.ts), the
 * plain-text fallback when Telegram rejects the entities, and the Bot API errors the streamer reacts to.
 */
import type { Api } from "grammy"
import type { Accepted } from "../../agent/session.ts"
import type { Bus } from "../../bus/bus.ts"
import type { Logger } from "../../util/log.ts"
import type { Answered, ChannelLimits, ReplyItem, ReplySurface, RenderedChunk } from "../contract.ts"
import type { Pacer } from "../pacer.ts"
import { streamReply as stream, toolLine } from "../stream.ts"
import { isEntityError, isMissingMessage, isNotModified } from "./api.ts"
import { type Block, blocks, escapeHtml } from "./render.ts"
import { MESSAGE_LIMIT, pack } from "./split.ts"

export type { Answered }

export interface ReplyDeps {
  api: Api
  bus: Bus
  chatId: number
  pacer: Pacer
  log: Logger
  /** Reply to this message (groups), so the answer is attached to the question. */
  replyTo?: number
  /** The first message the answer was posted as (the one it streams into): bot.ts records it as owed's. */
  onPosted?: (messageId: number) => void
}

/** The final answer as rendered blocks: text as Markdown, consecutive tool lines as one italic block. */
export function finalBlocks(items: ReplyItem[]): Block[] {
  const out: Block[] = []
  let tools: string[] = []
  const flushTools = () => {
    if (tools.length) out.push({ html: `<i>${escapeHtml(tools.join("\n"))}</i>`, text: tools.join("\n") })
    tools = []
  }
  for (const item of items) {
    if (item.kind === "tool") tools.push(toolLine(item))
    else if (item.text.trim()) {
      flushTools()
      out.push(...blocks(item.text))
    }
  }
  flushTools()
  return out
}

const chunked = (list: { html: string; text: string }[]): RenderedChunk[] =>
  list.map((chunk) => ({ formatted: chunk.html, plain: chunk.text }))

export function telegramLimits(editIntervalMs: number): ChannelLimits {
  return { messageChars: MESSAGE_LIMIT, editIntervalMs, format: "telegram-html", edits: true }
}

/** One chat as a ReplySurface; `onPosted` hears of the first message posted. */
export function telegramSurface(
  api: Api,
  chatId: number,
  editIntervalMs = 1000,
  onPosted?: (messageId: number) => void,
): ReplySurface {
  const options = (formatted: boolean) => (formatted ? { parse_mode: "HTML" as const } : {})
  let posted = false
  return {
    limits: telegramLimits(editIntervalMs),
    async post(chunk, { formatted, replyTo }) {
      const sent = await api.sendMessage(chatId, formatted ? chunk.formatted : chunk.plain, {
        ...options(formatted),
        ...(replyTo ? { reply_parameters: { message_id: Number(replyTo), allow_sending_without_reply: true } } : {}),
      })
      if (!posted) {
        posted = true
        onPosted?.(sent.message_id)
      }
      return { id: String(sent.message_id) }
    },
    async edit(message, chunk, { formatted }) {
      await api.editMessageText(
        chatId,
        Number(message.id),
        formatted ? chunk.formatted : chunk.plain,
        options(formatted),
      )
    },
    async typing() {
      await api.sendChatAction(chatId, "typing")
    },
    render: (items, note) =>
      chunked(pack(note ? [...finalBlocks(items), { html: `<i>${note}</i>`, text: note }] : finalBlocks(items))),
    classify: (error) =>
      isNotModified(error)
        ? "not-modified"
        : isEntityError(error)
          ? "format-rejected"
          : isMissingMessage(error)
            ? "missing"
            : "other",
    escape: escapeHtml,
  }
}

/**
 * Stream the answer to the message `accept` submits into a Telegram chat. Resolves with the answer
 * when this turn completed and its answer was delivered here, else null.
 */
export function streamReply(
  deps: ReplyDeps,
  sessionId: string,
  accept: () => Accepted | Promise<Accepted>,
): Promise<Answered | null> {
  return stream(
    {
      bus: deps.bus,
      surface: telegramSurface(deps.api, deps.chatId, 1000, deps.onPosted),
      pacer: deps.pacer,
      log: deps.log,
      conversation: String(deps.chatId),
      replyTo: deps.replyTo === undefined ? undefined : String(deps.replyTo),
    },
    sessionId,
    accept,
  )
}
