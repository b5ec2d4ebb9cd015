/**
 * One turn's answer in a Slack conversation: a message that streams by `chat.update` (never more often
 * than the channel's pacer allows; Slack's limit is about one message per second per channel, and the
 * Web API client waits out a 429's Retry-After), compact tool lines instead of tool JSON, and exactly
 * one final delivery: the answer rendered to mrkdwn and split at 3,900 characters (Slack shows longer
 * texts truncated). A failed turn ends in one short message that carries an error id (the turn id,
 * which the event log has with the details).
 */
import type { WebClient } from "@slack/web-api"
import { ToolEvent, TurnEvent } from "../../agent/events.ts"
import type { Accepted, TurnResult } from "../../agent/session.ts"
import type { Bus } from "../../bus/bus.ts"
import type { EventDef, Payload } from "../../core/event.ts"
import type { Logger } from "../../util/log.ts"
import type { Pacer } from "../telegram/pacer.ts"
import { escapeMrkdwn, splitMrkdwn, toMrkdwn } from "./mrkdwn.ts"

type Item = { kind: "text"; text: string } | { kind: "tool"; name: string; state: "running" | "ok" | "error" }

export const MESSAGE_LIMIT = 3_900
const TOOL_MARK = { running: "…", ok: "✓", error: "✗" } as const

export interface ReplyDeps {
  web: WebClient
  bus: Bus
  channel: string
  /** The thread to answer in (channels: the mention's ts; DMs: none). */
  threadTs?: string
  pacer: Pacer
  log: Logger
}

const toolLine = (item: Extract<Item, { kind: "tool" }>) => `🔧 ${item.name} ${TOOL_MARK[item.state]}`

function preview(items: Item[]): string {
  const text = items
    .map((item) => (item.kind === "text" ? escapeMrkdwn(item.text.trim()) : toolLine(item)))
    .filter(Boolean)
    .join("\n")
  return text.length > MESSAGE_LIMIT - 10 ? `…${text.slice(text.length - (MESSAGE_LIMIT - 20))}` : text
}

/** The final answer as mrkdwn messages: text rendered, consecutive tool lines as one italic block. */
export function finalMessages(items: Item[]): string[] {
  const parts: string[] = []
  let tools: string[] = []
  const flushTools = () => {
    if (tools.length) parts.push(tools.map((line) => `_${line}_`).join("\n"))
    tools = []
  }
  for (const item of items) {
    if (item.kind === "tool") tools.push(toolLine(item))
    else if (item.text.trim()) {
      flushTools()
      parts.push(toMrkdwn(item.text))
    }
  }
  flushTools()
  return splitMrkdwn(parts.join("\n\n"), MESSAGE_LIMIT)
}

export interface Answered {
  result: TurnResult
  text: string
}

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
  const { web, channel, pacer, log } = deps
  let turnId: string | null = null
  const early: [(data: never) => void, { turnId: string }][] = []
  const items: Item[] = []
  let ts: string | null = null
  let shown = ""
  let timer: ReturnType<typeof setTimeout> | null = null
  let inflight: Promise<void> = Promise.resolve()
  let finished = false
  const thread = deps.threadTs ? { thread_ts: deps.threadTs } : {}

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
        if (ts === null) ts = String((await web.chat.postMessage({ channel, text: next, mrkdwn: false, ...thread })).ts)
        else await web.chat.update({ channel, ts, text: next })
        shown = next
      } catch (error) {
        log.warn("streaming update failed", { channel, error: String(error) })
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

  /** The first message replaces the streamed one (chat.update); the rest are new messages in the thread. */
  const deliver = async (message: string, first: boolean) => {
    await pacer.run(async () => {
      if (first && ts !== null) {
        try {
          await web.chat.update({ channel, ts, text: message })
          return
        } catch (error) {
          if (!String(error).includes("message_not_found")) throw error
        }
      }
      const sent = await web.chat.postMessage({ channel, text: message, ...thread })
      ts ??= String(sent.ts)
    })
  }

  const finish = async (result: TurnResult): Promise<Answered | null> => {
    finished = true
    if (timer) clearTimeout(timer)
    for (const stop of stops) stop()
    await inflight
    if (result.turnId !== turnId) return null
    if (result.status === "failed" && result.reason?.startsWith("superseded")) return null
    const stopped = result.reason?.startsWith("aborted by user")
      ? "⏹ Stopped."
      : result.reason?.startsWith("interrupted: a newer message")
        ? "⏹ Stopped: a newer message arrived."
        : null
    const messages =
      result.status === "completed"
        ? finalMessages(items.length ? items : [{ kind: "text", text: result.text }])
        : stopped
          ? [...finalMessages(items), `_${stopped}_`]
          : [failureText(result)]
    const final = messages.length ? messages : ["_(no answer)_"]
    for (const [index, message] of final.entries()) await deliver(message, index === 0)
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
