/**
 * One turn's answer in a Discord conversation: the typing indicator while the agent works, a message
 * that streams by being edited (never more often than the conversation's pacer allows; @discordjs/rest
 * also keeps to the rate-limit headers and waits out a 429's `retry_after`), compact tool lines instead
 * of tool JSON, and exactly one final delivery: the Markdown answer cut into 2,000-character messages.
 * A failed turn ends in one short message that carries an error id (the turn id, which the event log
 * has with the details).
 */
import type { API } from "@discordjs/core"
import { ToolEvent, TurnEvent } from "../../agent/events.ts"
import type { Accepted, TurnResult } from "../../agent/session.ts"
import type { Bus } from "../../bus/bus.ts"
import type { EventDef, Payload } from "../../core/event.ts"
import type { Logger } from "../../util/log.ts"
import type { Pacer } from "../telegram/pacer.ts"
import { MESSAGE_LIMIT, split } from "./split.ts"

type Item = { kind: "text"; text: string } | { kind: "tool"; name: string; state: "running" | "ok" | "error" }

const TOOL_MARK = { running: "…", ok: "✓", error: "✗" } as const
/** Discord shows "typing" for about 10 s per call. */
const TYPING_EVERY_MS = 8000

export interface ReplyDeps {
  api: API
  bus: Bus
  channelId: string
  pacer: Pacer
  log: Logger
  /** Reply to this message (guilds), so the answer is attached to the question. */
  replyTo?: string
}

const toolLine = (item: Extract<Item, { kind: "tool" }>) => `🔧 ${item.name} ${TOOL_MARK[item.state]}`

/** Plain preview while streaming: the tail when it outgrows one message. */
function preview(items: Item[]): string {
  const text = items
    .map((item) => (item.kind === "text" ? item.text.trim() : toolLine(item)))
    .filter(Boolean)
    .join("\n")
  return text.length > MESSAGE_LIMIT - 10 ? `…${text.slice(text.length - (MESSAGE_LIMIT - 20))}` : text
}

/** The final answer: text as Markdown, consecutive tool lines as one italic line block. */
export function finalText(items: Item[]): string {
  const out: string[] = []
  let tools: string[] = []
  const flush = () => {
    if (tools.length) out.push(tools.map((line) => `*${line}*`).join("\n"))
    tools = []
  }
  for (const item of items) {
    if (item.kind === "tool") tools.push(toolLine(item))
    else if (item.text.trim()) {
      flush()
      out.push(item.text.trim())
    }
  }
  flush()
  return out.join("\n\n")
}

export interface Answered {
  result: TurnResult
  text: string
}

/** The REST error's Discord code (10008 Unknown Message, 50035 Invalid Form Body), if any. */
export const codeOf = (error: unknown): number | undefined =>
  typeof (error as { code?: unknown })?.code === "number" ? (error as { code: number }).code : undefined

export function failureText(result: TurnResult): string {
  return result.status === "interrupted"
    ? `⚠️ This turn was interrupted (${(result.reason ?? "").split(":")[0] || "stopped"}). Send the message again. (error id ${result.turnId})`
    : `⚠️ Sorry, that did not work. Error id: ${result.turnId} (the details are in the gateway log).`
}

/**
 * Stream the answer to the message `accept` submits. The bus is watched before `accept` runs: an idle
 * session starts the turn inside `prompt()`, so its first events come before the turn id is known.
 */
export function streamReply(deps: ReplyDeps, sessionId: string, accept: () => Accepted): Promise<Answered | null> {
  const { api, channelId, pacer, log } = deps
  let turnId: string | null = null
  const early: [(data: never) => void, { turnId: string }][] = []
  const items: Item[] = []
  let messageId: string | null = null
  let shown = ""
  let timer: ReturnType<typeof setTimeout> | null = null
  let inflight: Promise<void> = Promise.resolve()
  let finished = false
  let typing: ReturnType<typeof setInterval> | null = null

  const reference = () =>
    deps.replyTo && messageId === null
      ? { message_reference: { message_id: deps.replyTo, fail_if_not_exists: false } }
      : {}
  const sendTyping = () =>
    void api.channels.showTyping(channelId).catch((error) => log.debug("typing failed", { error: String(error) }))
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
          const sent = await api.channels.createMessage(channelId, {
            content: next,
            allowed_mentions: { parse: [] },
            ...reference(),
          })
          messageId = sent.id
        } else await api.channels.editMessage(channelId, messageId, { content: next })
        shown = next
      } catch (error) {
        log.warn("streaming edit failed", { channel: channelId, error: String(error) })
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

  /** Send a piece, or edit the streamed message into it; a vanished message is sent anew. */
  const deliver = async (piece: string, edit: string | null): Promise<void> => {
    try {
      await pacer.run(async () => {
        if (edit !== null) await api.channels.editMessage(channelId, edit, { content: piece })
        else {
          const sent = await api.channels.createMessage(channelId, {
            content: piece,
            allowed_mentions: { parse: [] },
            ...reference(),
          })
          messageId ??= sent.id
        }
      })
    } catch (error) {
      if (edit !== null && codeOf(error) === 10008) return await deliver(piece, null)
      throw error
    }
  }

  const finish = async (result: TurnResult): Promise<Answered | null> => {
    finished = true
    if (timer) clearTimeout(timer)
    if (typing) clearInterval(typing)
    for (const stop of stops) stop()
    await inflight
    if (result.turnId !== turnId) return null
    if (result.status === "failed" && result.reason?.startsWith("superseded")) return null
    const stopped = result.reason?.startsWith("aborted by user")
      ? "⏹ Stopped."
      : result.reason?.startsWith("interrupted: a newer message")
        ? "⏹ Stopped: a newer message arrived."
        : null
    const body =
      result.status === "completed"
        ? finalText(items.length ? items : [{ kind: "text", text: result.text }])
        : stopped
          ? [finalText(items), `*${stopped}*`].filter(Boolean).join("\n\n")
          : failureText(result)
    const pieces = split(body || "*(no answer)*")
    for (const [index, piece] of pieces.entries()) await deliver(piece, index === 0 ? messageId : null)
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
