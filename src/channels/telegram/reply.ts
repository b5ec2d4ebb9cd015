/**
 * One turn's answer in a chat: the typing action while the agent works, a message that streams by
 * being edited (never more often than the chat's pacer allows), compact tool lines instead of tool
 * JSON, and exactly one final delivery: the answer rendered to HTML and split into messages, with a
 * plain-text fallback when Telegram rejects the entities. A failed turn ends in one short message that
 * carries an error id (the turn id, which the event log has with the details).
 */
import type { Api } from "grammy"
import { ToolEvent, TurnEvent } from "../../agent/events.ts"
import type { Accepted, TurnResult } from "../../agent/session.ts"
import type { Bus } from "../../bus/bus.ts"
import type { EventDef, Payload } from "../../core/event.ts"
import type { Logger } from "../../util/log.ts"
import { isEntityError, isMissingMessage, isNotModified } from "./api.ts"
import type { Pacer } from "./pacer.ts"
import { type Block, blocks, escapeHtml } from "./render.ts"
import { type Chunk, MESSAGE_LIMIT, pack } from "./split.ts"

type Item = { kind: "text"; text: string } | { kind: "tool"; name: string; state: "running" | "ok" | "error" }

const TOOL_MARK = { running: "…", ok: "✓", error: "✗" } as const
const TYPING_EVERY_MS = 4000

export interface ReplyDeps {
  api: Api
  bus: Bus
  chatId: number
  pacer: Pacer
  log: Logger
  /** Reply to this message (groups), so the answer is attached to the question. */
  replyTo?: number
}

const toolLine = (item: Extract<Item, { kind: "tool" }>) => `🔧 ${item.name} ${TOOL_MARK[item.state]}`

/** Plain-text preview while streaming: the tail when it outgrows one message. */
function preview(items: Item[]): string {
  const text = items
    .map((item) => (item.kind === "text" ? item.text.trim() : toolLine(item)))
    .filter(Boolean)
    .join("\n")
  return text.length > MESSAGE_LIMIT - 10 ? `…${text.slice(text.length - (MESSAGE_LIMIT - 20))}` : text
}

/** The final answer as rendered blocks: text as Markdown, consecutive tool lines as one italic block. */
export function finalBlocks(items: Item[]): Block[] {
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

/** A completed answer this reply delivered: its Markdown text, as the chat shows it (tool lines aside). */
export interface Answered {
  result: TurnResult
  text: string
}

/**
 * Stream the answer to the message `accept` submits. The bus is watched before `accept` runs: an idle
 * session starts the turn inside `prompt()`, so its first events come before the turn id is known.
 * Resolves with the answer when this turn completed and its answer was delivered here, else null.
 */
export function streamReply(deps: ReplyDeps, sessionId: string, accept: () => Accepted): Promise<Answered | null> {
  const { api, chatId, pacer, log } = deps
  let turnId: string | null = null
  const early: [(data: never) => void, { turnId: string }][] = []
  const items: Item[] = []
  let messageId: number | null = null
  let shown = ""
  let timer: ReturnType<typeof setTimeout> | null = null
  let inflight: Promise<void> = Promise.resolve()
  let finished = false
  let typing: ReturnType<typeof setInterval> | null = null

  // In groups the answer is attached to the question; only the first message of an answer needs it.
  const replyOptions = () =>
    deps.replyTo && messageId === null
      ? { reply_parameters: { message_id: deps.replyTo, allow_sending_without_reply: true } }
      : {}
  const sendTyping = () =>
    void api
      .sendChatAction(chatId, "typing")
      .catch((error) => log.debug("typing action failed", { error: String(error) }))
  const text = (): Extract<Item, { kind: "text" }> => {
    const last = items.at(-1)
    if (last?.kind === "text") return last
    const fresh = { kind: "text" as const, text: "" }
    items.push(fresh)
    return fresh
  }

  const flush = async () => {
    timer = null
    if (finished) return
    const next = preview(items)
    if (!next || next === shown) return
    await pacer.run(async () => {
      if (finished) return
      try {
        if (messageId === null) {
          const sent = await api.sendMessage(chatId, next, replyOptions())
          messageId = sent.message_id
        } else await api.editMessageText(chatId, messageId, next)
        shown = next
      } catch (error) {
        if (isNotModified(error)) shown = next
        else log.warn("streaming edit failed", { chat: chatId, error: String(error) })
      }
    })
  }
  const schedule = () => {
    if (timer || finished) return
    timer = setTimeout(
      () => {
        inflight = inflight.then(flush)
      },
      Math.max(0, pacer.readyIn()),
    )
  }

  const on = <E extends EventDef>(def: E, handler: (data: Payload<E>) => void) =>
    deps.bus.subscribe(def, (event) => {
      const data = event.data as Payload<E> & { sessionId: string; turnId: string }
      if (turnId === null) {
        if (data.sessionId === sessionId) early.push([handler as (data: never) => void, data])
      } else if (data.turnId === turnId) handler(data)
    })
  const stops = [
    on(TurnEvent.Started, () => {
      sendTyping()
      typing = setInterval(sendTyping, TYPING_EVERY_MS)
    }),
    on(TurnEvent.Delta, (data) => {
      text().text += data.text
      schedule()
    }),
    on(TurnEvent.Discard, (data) => {
      const last = items.at(-1)
      if (last?.kind === "text") last.text = last.text.slice(0, Math.max(0, last.text.length - data.chars))
      schedule()
    }),
    on(ToolEvent.Started, (data) => {
      items.push({ kind: "tool", name: data.name, state: "running" })
      schedule()
    }),
    on(ToolEvent.Completed, (data) => {
      const item = items.findLast(
        (candidate) => candidate.kind === "tool" && candidate.name === data.name && candidate.state === "running",
      )
      if (item?.kind === "tool") item.state = data.isError ? "error" : "ok"
      schedule()
    }),
  ]

  /** Send or edit one chunk as HTML; on an entity error, the same chunk as plain text. */
  const deliver = async (chunk: Chunk, edit: number | null) => {
    const attempt = (html: boolean) =>
      pacer.run(async () => {
        const options = html ? { parse_mode: "HTML" as const } : {}
        if (edit !== null) await api.editMessageText(chatId, edit, html ? chunk.html : chunk.text, options)
        else {
          const sent = await api.sendMessage(chatId, html ? chunk.html : chunk.text, { ...options, ...replyOptions() })
          messageId ??= sent.message_id
        }
      })
    try {
      await attempt(true)
    } catch (error) {
      if (isNotModified(error)) return
      if (isEntityError(error)) {
        log.warn("Telegram rejected the HTML; sending plain text", { chat: chatId, error: String(error) })
        await attempt(false).catch((second) => {
          if (!isNotModified(second)) throw second
        })
        return
      }
      if (edit !== null && isMissingMessage(error)) return await deliver(chunk, null)
      throw error
    }
  }

  const finish = async (result: TurnResult): Promise<Answered | null> => {
    finished = true
    if (timer) clearTimeout(timer)
    if (typing) clearInterval(typing)
    for (const stop of stops) stop()
    await inflight
    // Collected into another message's turn (orchestration "collect"): that message's reply answers.
    if (result.turnId !== turnId) return null
    // Superseded by a newer message (orchestration "interrupt"): the newer turn answers.
    if (result.status === "failed" && result.reason?.startsWith("superseded")) return null
    // Stopped on purpose (/stop, or a newer message in orchestration "interrupt"): keep what was said.
    const stopped = result.reason?.startsWith("aborted by user")
      ? "⏹ Stopped."
      : result.reason?.startsWith("interrupted: a newer message")
        ? "⏹ Stopped: a newer message arrived."
        : null
    const chunks =
      result.status === "completed"
        ? pack(finalBlocks(items.length ? items : [{ kind: "text", text: result.text }]))
        : stopped
          ? pack([...finalBlocks(items), { html: `<i>${stopped}</i>`, text: stopped }])
          : [failureChunk(result)]
    const final = chunks.length ? chunks : [{ html: "<i>(no answer)</i>", text: "(no answer)" }]
    for (const [index, chunk] of final.entries()) await deliver(chunk, index === 0 ? messageId : null)
    if (result.status !== "completed") return null
    const said = items.flatMap((item) => (item.kind === "text" && item.text.trim() ? [item.text.trim()] : []))
    return { result, text: said.join("\n\n") || result.text }
  }

  let accepted: Accepted
  try {
    accepted = accept()
  } catch (error) {
    finished = true
    for (const stop of stops) stop()
    throw error
  }
  turnId = accepted.turn.id
  for (const [handler, data] of early.splice(0)) if (data.turnId === turnId) handler(data as never)
  return accepted.done.then(finish)
}

function failureChunk(result: TurnResult): Chunk {
  const text =
    result.status === "interrupted"
      ? `⚠️ This turn was interrupted (${(result.reason ?? "").split(":")[0] || "stopped"}). Send the message again. (error id ${result.turnId})`
      : `⚠️ Sorry, that did not work. Error id: ${result.turnId} (the details are in the gateway log).`
  return { html: escapeHtml(text), text }
}
