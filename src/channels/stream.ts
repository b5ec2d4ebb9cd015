/**
 * One turn's answer in a conversation, for every channel: the typing indicator while the agent works,
 * a message that streams by being edited (never more often than the conversation's pacer allows, and
 * as plain text within the platform's message length), compact tool lines instead of tool JSON, and
 * exactly one final delivery: the answer rendered in the platform's format and split into messages,
 * with a plain-text fallback when the platform rejects the formatting. A failed turn ends in one short
 * message that carries an error id (the turn id, which the event log has with the details).
 *
 * The platform is behind a ReplySurface (contract.ts); Telegram's is in telegram/reply.ts.
 */
import { ToolEvent, TurnEvent } from "../agent/events.ts"
import type { Accepted, TurnResult } from "../agent/session.ts"
import type { Bus } from "../bus/bus.ts"
import { BUDGET_REFUSAL } from "../core/budgets-config.ts"
import { DrostError } from "../core/error.ts"
import type { EventDef, Payload } from "../core/event.ts"
import type { Logger } from "../util/log.ts"
import type { Answered, PostedMessage, RenderedChunk, ReplyItem, ReplySurface } from "./contract.ts"
import type { Pacer } from "./pacer.ts"

const TOOL_MARK = { running: "…", ok: "✓", error: "✗" } as const
const TYPING_EVERY_MS = 4000

export interface StreamDeps {
  bus: Bus
  surface: ReplySurface
  pacer: Pacer
  log: Logger
  /** For logs: which conversation. */
  conversation: string
  /** Attach the answer to this platform message (groups): only the answer's first message needs it. */
  replyTo?: string
}

export const toolLine = (item: Extract<ReplyItem, { kind: "tool" }>) => `🔧 ${item.name} ${TOOL_MARK[item.state]}`

/** Plain-text preview while streaming: the tail when it outgrows one message. */
export function preview(items: ReplyItem[], limit: number): string {
  const text = items
    .map((item) => (item.kind === "text" ? item.text.trim() : toolLine(item)))
    .filter(Boolean)
    .join("\n")
  return text.length > limit - 10 ? `…${text.slice(text.length - (limit - 20))}` : text
}

/** The one short message a failed turn ends with: what happened and the error id. */
export function failureText(result: TurnResult): string {
  if (result.status === "interrupted")
    return `⚠️ This turn was interrupted (${(result.reason ?? "").split(":")[0] || "stopped"}). Send the message again. (error id ${result.turnId})`
  // A budget refusal is meant for the person: it says which limit and how much was spent.
  if (result.reason?.startsWith(BUDGET_REFUSAL)) return `⚠️ Not answered: ${result.reason}`
  return `⚠️ Sorry, that did not work. Error id: ${result.turnId} (the details are in the gateway log).`
}

/** What a turn that did not complete says, when it was stopped on purpose; null otherwise. */
export function stoppedNote(result: TurnResult): string | null {
  return result.reason?.startsWith("aborted by user")
    ? "⏹ Stopped."
    : result.reason?.startsWith("interrupted: a newer message")
      ? "⏹ Stopped: a newer message arrived."
      : null
}

/**
 * A message its session refused because the queue is full (DrostError "Busy"), its inbox rows already
 * marked handled: the reason is the answer, posted by streamReply, which then resolves null.
 */
export class Refused extends DrostError {
  constructor(message: string) {
    super("Busy", message)
  }
}

/**
 * Submit a channel message through `prompt` (which marks its inbox rows handled with the message): a
 * full queue marks them handled too (`done`) and becomes Refused; a refusal while `stopping` leaves them
 * for the next run (the error as it is).
 */
export async function submit(
  prompt: () => Promise<Accepted>,
  done: () => unknown,
  stopping: () => boolean,
): Promise<Accepted> {
  try {
    return await prompt()
  } catch (error) {
    if (!(error instanceof DrostError) || error.code !== "Busy" || error instanceof Refused || stopping()) throw error
    await done()
    throw new Refused(error.message)
  }
}

/**
 * Stream the answer to the message `accept` submits. The bus is watched before `accept` runs: an idle
 * session starts the turn inside `prompt()`, so its first events come before the turn id is known.
 * Resolves with the answer when this turn completed and its answer was delivered here, else null; also
 * null when `accept` was Refused (the reason is posted) or its inbox rows were already accepted
 * (AlreadyAccepted: another gateway, or an earlier run, took the message).
 */
export async function streamReply(
  deps: StreamDeps,
  sessionId: string,
  accept: () => Accepted | Promise<Accepted>,
): Promise<Answered | null> {
  const { surface, pacer, log } = deps
  const limit = surface.limits.messageChars
  let turnId: string | null = null
  const early: [(data: never) => void, { turnId: string }][] = []
  const items: ReplyItem[] = []
  let message: PostedMessage | null = null
  let shown = ""
  let timer: ReturnType<typeof setTimeout> | null = null
  let inflight: Promise<void> = Promise.resolve()
  let finished = false
  let typing: ReturnType<typeof setInterval> | null = null

  // Only the first message of an answer is attached to the question.
  const replyTo = () => (message === null ? deps.replyTo : undefined)
  const sendTyping = () =>
    void surface.typing?.().catch((error) => log.debug("typing action failed", { error: String(error) }))
  const text = (): Extract<ReplyItem, { kind: "text" }> => {
    const last = items.at(-1)
    if (last?.kind === "text") return last
    const fresh = { kind: "text" as const, text: "" }
    items.push(fresh)
    return fresh
  }

  const flush = async () => {
    timer = null
    if (finished) return
    const next = preview(items, limit)
    if (!next || next === shown) return
    await pacer.run(async () => {
      if (finished) return
      const chunk = { formatted: next, plain: next }
      try {
        if (message === null) message = await surface.post(chunk, { formatted: false, replyTo: replyTo() })
        else await surface.edit(message, chunk, { formatted: false })
        shown = next
      } catch (error) {
        if (surface.classify(error) === "not-modified") shown = next
        else log.warn("streaming edit failed", { chat: deps.conversation, error: String(error) })
      }
    })
  }
  const schedule = () => {
    if (timer || finished || !surface.limits.edits) return
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
      if (!surface.typing) return
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

  /** Send or edit one chunk formatted; when the platform rejects the formatting, the same chunk as plain text. */
  const deliver = async (chunk: RenderedChunk, edit: PostedMessage | null): Promise<void> => {
    const attempt = (formatted: boolean) =>
      pacer.run(async () => {
        if (edit !== null) await surface.edit(edit, chunk, { formatted })
        else {
          const sent = await surface.post(chunk, { formatted, replyTo: replyTo() })
          message ??= sent
        }
      })
    try {
      await attempt(true)
    } catch (error) {
      const failure = surface.classify(error)
      if (failure === "not-modified") return
      if (failure === "format-rejected") {
        log.warn("the platform rejected the formatting; sending plain text", {
          chat: deps.conversation,
          error: String(error),
        })
        await attempt(false).catch((second) => {
          if (surface.classify(second) !== "not-modified") throw second
        })
        return
      }
      if (edit !== null && failure === "missing") return await deliver(chunk, null)
      throw error
    }
  }

  const escaped = (value: string) => surface.escape?.(value) ?? value

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
    const stopped = stoppedNote(result)
    const failure = failureText(result)
    const chunks =
      result.status === "completed"
        ? surface.render(items.length ? items : [{ kind: "text", text: result.text }])
        : stopped
          ? surface.render(items, stopped)
          : [{ formatted: escaped(failure), plain: failure }]
    const final = chunks.length ? chunks : surface.render([], "(no answer)")
    for (const [index, chunk] of final.entries()) await deliver(chunk, index === 0 ? message : null)
    if (result.status !== "completed") return null
    const said = items.flatMap((item) => (item.kind === "text" && item.text.trim() ? [item.text.trim()] : []))
    return { result, text: said.join("\n\n") || result.text }
  }

  let accepted: Accepted
  try {
    accepted = await accept()
  } catch (error) {
    finished = true
    for (const stop of stops) stop()
    if (error instanceof DrostError && error.code === "AlreadyAccepted") return null
    if (!(error instanceof Refused)) throw error
    const text = `⚠️ ${error.message}`
    await deliver({ formatted: escaped(text), plain: text }, null)
    return null
  }
  turnId = accepted.turn.id
  for (const [handler, data] of early.splice(0)) if (data.turnId === turnId) handler(data as never)
  return accepted.done.then(finish)
}
