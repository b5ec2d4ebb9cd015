/**
 * Answers owed to accepted Telegram messages, across crashes. bot.ts records a message's owed reply in
 * the store before its accept (`owe`), with its turn right after (`accepted`), and settles it once the
 * answer was sent. What a crash left owed, the gateway polling the bot answers: when it takes the polling
 * lease and every `SWEEP_MS` while it holds it (one read of the bot's owed replies, a handful of rows).
 * A reply is taken over only from a gateway that is gone (as turn recovery judges: src/store/gateways.ts
 * `goneReason`), or from this one when it is not handling it any more (a send that failed), and only
 * once its turn ended; an update still in the inbox is left to the poller's replay. What is said:
 * - a completed turn: its stored answer (the assistant text of the turn, read from the store), attached
 *   to the question;
 * - an interrupted turn, or a message accepted whose turn was never recorded (a kill between the two
 *   writes): RESTART_NOTICE, asking for the message again. The message is not run again by itself: its
 *   turn may have run tools whose effects a second run would repeat;
 * - a stopped or failed turn: what the live streamer would have said (stream.ts); a turn collected into or
 *   superseded by another message's is answered by that one's reply, so nothing.
 * At least once: a gateway killed between a send and its settle has its reply sent again; bot.ts records
 * the message an answer streams into (`posted`), and a completed answer is edited into it, so a reply the
 * killed gateway had sent whole adds nothing ("not modified": `unchanged`). Only a kill after an answer's
 * first post and before that record can show it twice.
 */
import type { Api } from "grammy"
import type { Gateway } from "../../gateway/gateway.ts"
import type { Message, OwedReplyState } from "../../store/engine/contract.ts"
import { goneReason, STALE_BEATS } from "../../store/gateways.ts"
import type { Logger } from "../../util/log.ts"
import type { Pacer } from "../pacer.ts"
import { failureText, stoppedNote } from "../stream.ts"
import { classify } from "./api.ts"
import { escapeHtml } from "./render.ts"
import { telegramSurface } from "./reply.ts"

export const RESTART_NOTICE =
  "⚠️ The gateway restarted while answering this message, so it was not answered. Please send it again."
/** How often the polling gateway looks for owed replies (one small read). */
export const SWEEP_MS = 2000
/** How many pages of a session's messages are read back for a turn's answer, at most (100 a page). */
const PAGES = 20

/**
 * How an owed answer went out: posted as a new message, edited into the message it was streaming into,
 * or found there already whole (the killed gateway had sent it and was killed before its settle).
 */
export type Delivery = "posted" | "edited" | "unchanged"

export interface OwedDeps {
  gw: Gateway
  api: Api
  botId: string
  log: Logger
  pacer(chatId: number): Pacer
}

const textOf = (message: Message) =>
  message.parts
    .map((part) => (part.type === "text" ? part.text : ""))
    .join("")
    .trim()

export function createOwedReplies(deps: OwedDeps) {
  const { gw, api, botId, log } = deps
  const store = gw.data.telegram.replies
  const staleMs = (gw.config.store?.heartbeatMs ?? 2000) * STALE_BEATS
  /** Messages this gateway is handling now (from before its owe until its settle): never taken over here. */
  const handling = new Set<number>()
  /** Replies sent whose settle failed (the store): the sweep settles them without sending again. */
  const sent = new Map<number, string | null>()
  /** Replies this gateway took over (claimed) and has not settled: still owed by it, whatever their turn. */
  const claimed = new Set<number>()
  let sweeping: Promise<void> | null = null
  let again = false
  let closed = false

  /** The assistant text of `turnId`, read back from the end of its session. */
  const answerOf = async (reply: OwedReplyState): Promise<string> => {
    const said: string[] = []
    let beforeSeq: number | undefined
    for (let page = 0; page < PAGES; page++) {
      const messages = await gw.data.sessions.messages(reply.sessionId, { limit: 100, beforeSeq })
      if (!messages.length) break
      const own = messages.filter((message) => message.turnId === reply.turnId)
      said.unshift(...own.filter((message) => message.role === "assistant").map(textOf))
      if (own.some((message) => message.role === "user") || messages[0]!.createdAt < reply.createdAt) break
      beforeSeq = messages[0]!.seq
    }
    return said.filter(Boolean).join("\n\n")
  }

  /** What to say: a text, null for nothing (answered otherwise), undefined while its turn runs. */
  const sayFor = async (reply: OwedReplyState): Promise<string | null | undefined> => {
    if (reply.turnId === null) return RESTART_NOTICE
    if (!reply.turn) return null
    const { status, error } = reply.turn
    if (status === "queued" || status === "running") return undefined
    if (error?.startsWith("collected into") || error?.startsWith("superseded")) return null
    const result = { turnId: reply.turnId, sessionId: reply.sessionId, status, reason: error, text: "" }
    if (status === "completed") return (await answerOf(reply)) || "(no answer)"
    const stopped = stoppedNote(result)
    if (stopped) return stopped
    return status === "interrupted" ? RESTART_NOTICE : failureText(result)
  }

  /**
   * Post `text` attached to the question: the answer rendered as the streamer renders it, else plain. An
   * answer whose message was recorded (it was streaming into it) is edited into that message instead:
   * when the killed gateway had already sent it whole, Telegram answers "not modified" and nothing is
   * added, so only a kill between that message's post and its record can show an answer twice.
   */
  const deliver = async (reply: OwedReplyState, text: string, formatted: boolean): Promise<Delivery> => {
    const surface = telegramSurface(api, reply.chatId)
    const chunks = formatted ? surface.render([{ kind: "text", text }]) : [{ formatted: escapeHtml(text), plain: text }]
    let start = 0
    let how: Delivery = "posted"
    if (formatted && reply.answerId !== null && chunks[0]) {
      const message = { id: String(reply.answerId) }
      const edit = (html: boolean) =>
        deps.pacer(reply.chatId).run(() => surface.edit(message, chunks[0]!, { formatted: html }))
      const edited = await edit(true).then(
        (): Delivery => "edited",
        async (error): Promise<Delivery | null> => {
          const failure = surface.classify(error)
          if (failure === "not-modified") return "unchanged"
          if (failure === "missing") return null
          if (failure !== "format-rejected") throw error
          return await edit(false).then(
            (): Delivery => "edited",
            (second) => {
              if (surface.classify(second) === "not-modified") return "unchanged"
              throw second
            },
          )
        },
      )
      if (edited) {
        start = 1
        how = edited
      }
    }
    for (const [index, chunk] of chunks.entries()) {
      if (index < start) continue
      const replyTo = index === 0 ? String(reply.messageId) : undefined
      const post = (html: boolean) =>
        deps.pacer(reply.chatId).run(() => surface.post(chunk, { formatted: html, replyTo }))
      await post(true).catch(async (error) => {
        if (surface.classify(error) !== "format-rejected") throw error
        await post(false)
      })
    }
    return how
  }

  const takeOver = async (reply: OwedReplyState) => {
    const said = sent.get(reply.key)
    if (said !== undefined) {
      await store.settle(botId, reply.key, said)
      sent.delete(reply.key)
      return
    }
    // This gateway's own, accepted here and never recorded with a turn (a refusal it could not post, or
    // another gateway's accept won the race): nothing of it is owed here.
    if (reply.holder === gw.id && reply.turnId === null && !claimed.has(reply.key))
      return await store.settle(botId, reply.key, null)
    const say = await sayFor(reply)
    if (say === undefined || handling.has(reply.key) || closed) return
    handling.add(reply.key)
    try {
      // Another gateway's (gone): claimed first, so a second gateway sweeping at the same time (the lease
      // just moved) leaves it. A gone claimant's claim is taken over in turn.
      if (reply.holder !== gw.id) {
        if (!(await store.claim(botId, reply.key, reply.holder, gw.id))) return
        claimed.add(reply.key)
      }
      const how =
        say === null ? null : await deliver(reply, say, say !== RESTART_NOTICE && reply.turn?.status === "completed")
      // Sent: a failing settle is retried without sending again.
      await store.settle(botId, reply.key, reply.turnId).then(
        () => claimed.delete(reply.key),
        (error) => {
          sent.set(reply.key, reply.turnId)
          log.warn("could not settle an owed reply after sending it", { chat: reply.chatId, error: String(error) })
        },
      )
      // A warning: a crash (or a failed send) left it owed, which an operator wants to see in the journal.
      if (say !== null)
        log.warn("answered a message a previous run left unanswered", {
          bot: botId,
          chat: reply.chatId,
          update: reply.key,
          turn: reply.turnId,
          status: reply.turn?.status ?? "not recorded",
          how,
          from: reply.holder,
        })
    } catch (error) {
      // A request Telegram refuses for good (the chat is gone, the bot blocked) is given up; else retried.
      const failure = classify(error)
      if (failure.kind === "client" || failure.kind === "unauthorized") {
        log.warn("an owed reply cannot be delivered; giving it up", { chat: reply.chatId, error: failure.message })
        await store.settle(botId, reply.key, reply.turnId)
      } else log.warn("an owed reply failed; retrying later", { chat: reply.chatId, error: failure.message })
    } finally {
      handling.delete(reply.key)
    }
  }

  const once = async () => {
    const owed = await store.owed(botId)
    if (!owed.length) return
    const gateways = new Map((await gw.data.gateways.list()).map((row) => [row.id, row]))
    const now = Date.now()
    for (const reply of owed) {
      if (closed) return
      if (handling.has(reply.key) || reply.pending) continue
      const mine = reply.holder === gw.id
      if (!mine && goneReason(reply.holder, gateways.get(reply.holder) ?? null, { now, staleMs }) === null) continue
      await takeOver(reply)
    }
  }

  return {
    /** The message with first update `key` is being handled here: the sweep leaves it alone. */
    handle(key: number) {
      handling.add(key)
    },
    /** Its handling ended (answered and settled, or left to a sweep). */
    release(key: number) {
      handling.delete(key)
    },
    /** Its reply was sent but the settle failed: the next sweep only settles it. */
    unsettled(key: number, turnId: string | null) {
      sent.set(key, turnId)
    },
    /** Answer what is owed and may be taken over; one sweep at a time (a call during one runs another after). */
    sweep(): Promise<void> {
      if (closed) return Promise.resolve()
      if (sweeping) {
        again = true
        return sweeping
      }
      sweeping = (async () => {
        do {
          again = false
          await once().catch((error) => log.warn("reading owed replies failed", { bot: botId, error: String(error) }))
        } while (again && !closed)
      })().finally(() => {
        sweeping = null
      })
      return sweeping
    },
    /** No new sweep or send; resolves when the one under way ended. */
    async close() {
      closed = true
      await sweeping
    },
  }
}
