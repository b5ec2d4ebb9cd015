/**
 * One Telegram bot attached to the gateway: grammY with @grammyjs/runner (concurrent across chats,
 * `sequentialize`d within a chat), the store-backed poller, access control and pairing, chat → session
 * mapping, the shared slash commands (/stop aborts the running turn), streamed replies, media, albums and
 * voice notes (transcribed into the user's text, answers optionally spoken; voice.ts).
 * Commands skip the chat's lane (like approval presses), so /stop reaches a running turn.
 *
 * An update is marked handled in the same transaction that makes its user message durable (or after
 * its answer was sent, for commands and refusals), so after a crash nothing is handled twice and
 * nothing is lost. A message's reply is owed in the store until its answer was sent (owed.ts): what a
 * crash left unanswered the gateway polling the bot answers. A bad token or an unreachable Telegram
 * marks the gateway degraded; nothing else stops.
 */
import { Bot } from "grammy"
import type { Message, Update, UserFromGetMe } from "grammy/types"
import { createConcurrentSink, createRunner, createSource, type RunnerHandle, sequentialize } from "@grammyjs/runner"
import type { TelegramConfig } from "../../core/channel-config.ts"
import { DrostError } from "../../core/error.ts"
import { dispatch } from "../../gateway/commands.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import { createCredentials } from "../../gateway/auth.ts"
import { PAIRING_TTL_MS } from "../../store/telegram.ts"
import { Log } from "../../util/log.ts"
import { type AccessDeps, isAllowedUser, judge } from "./access.ts"
import { createApprovalButtons } from "./approvals.ts"
import { type Album, createAlbums } from "./albums.ts"
import { classify, honourRetryAfter, sleep } from "./api.ts"
import { TelegramEvent } from "./events.ts"
import { download, imageOf, unsupported } from "./media.ts"
import { commandMenu } from "../commands.ts"
import { createLanes, laneMode } from "../lane.ts"
import { createPacers } from "../pacer.ts"
import { submit } from "../stream.ts"
import { createOwedReplies, SWEEP_MS } from "./owed.ts"
import { createPoller } from "./poller.ts"
import { codeBlock, commandReply, escapeHtml } from "./render.ts"
import { type Answered, streamReply } from "./reply.ts"
import { cutText, pack } from "./split.ts"
import { resolveToken } from "./token.ts"
import { createVoice, type VoiceNote, VoiceRefusal, voiceOf } from "./voice.ts"

const DEFAULT_API_ROOT = "https://api.telegram.org"

export interface TelegramChannel {
  readonly component: string
  start(): void
  stop(graceMs: number): Promise<void>
}

export function createTelegramChannel(gw: Gateway, config: TelegramConfig, component = "telegram"): TelegramChannel {
  const log = Log.create(component)
  // The store contract (either engine): the inbox, chats' sessions and pairings another gateway on it sees too.
  const store = gw.data.telegram
  const health = (problem: string | null) => gw.setHealth(component, problem)
  const token = resolveToken(config, gw.config.stateDir)
  const apiRoot = (config.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, "")
  const pacers = createPacers<number>(config.editIntervalMs)
  const lanes = createLanes<number>(log)
  const pairingSent = new Map<number, number>()
  let stopping = false
  let runner: RunnerHandle | null = null
  let poller: ReturnType<typeof createPoller> | null = null
  let notifier: ReturnType<typeof setInterval> | null = null
  let sweeper: ReturnType<typeof setInterval> | null = null
  let booting: Promise<void> | null = null

  if (!token.ok) {
    return {
      component,
      start: () => {
        log.warn("telegram channel not started", { problem: token.problem })
        health(token.problem)
      },
      stop: async () => {},
    }
  }
  const botId = token.botId
  const bot = new Bot(token.token, { client: { apiRoot } })
  bot.api.config.use(honourRetryAfter(log, (chatId, ms) => chatId !== null && pacers(chatId).defer(ms)))
  // Files come from the same Bot API server as the methods (a local server, or a test fake).
  const fileUrl = (path: string) => `${apiRoot}/file/bot${token.token}/${path}`
  const voice = createVoice({
    config: gw.config,
    credential: createCredentials(gw.config.stateDir).resolve,
    api: bot.api,
    fileUrl,
  })

  /** Work of one chat runs in order: messages, album flushes and their answers. */
  const lane = <T>(chatId: number, fn: () => Promise<T>): Promise<T> => lanes.run(chatId, fn)

  const send = async (chatId: number, text: string, html = escapeHtml(text)) => {
    for (const chunk of text.length > 4000 ? pack([codeBlock(text, "")]) : [{ html, text }]) {
      await pacers(chatId).run(() => bot.api.sendMessage(chatId, chunk.html, { parse_mode: "HTML" }))
    }
  }
  const done = (updateIds: number[]) => store.done(botId, updateIds)

  const sessionFor = async (message: Message): Promise<string> => {
    const chatId = message.chat.id
    const known = await store.session(botId, chatId)
    if (known && (await gw.data.sessions.get(known))) return known
    const title =
      message.chat.type === "private"
        ? `Telegram: ${message.from?.username ? `@${message.from.username}` : (message.from?.first_name ?? chatId)}`
        : `Telegram: ${message.chat.title ?? chatId}`
    const session = await gw.sessions.create({ channel: "telegram", channelKey: `${botId}:${chatId}`, title })
    await store.setSession(botId, chatId, session.id)
    return session.id
  }

  /** Replies owed to accepted messages: recorded around each accept, what a crash left answered here. */
  const owed = createOwedReplies({ gw, api: bot.api, botId, log, pacer: pacers })

  /** Answers being streamed; stop() lets them finish within its grace period. */
  const replies = new Set<Promise<void>>()

  /**
   * Make the message durable (and the updates handled) in one transaction, then stream the answer.
   * With orchestration `interrupt` or `collect` the answer streams without holding the chat's lane,
   * so the next message reaches the session while this turn runs and the session's mode decides.
   */
  const converse = async (
    message: Message,
    updateIds: number[],
    text: string,
    images: { mediaType: string; data: string }[],
    fromVoice = false,
  ) => {
    // Owed from before the accept until the answer was sent (owed.ts): a crash in between leaves the reply
    // to the gateway that polls the bot. Handled here until then, so this gateway's sweep leaves it alone.
    const key = updateIds[0]!
    owed.handle(key)
    let reply: Promise<void>
    try {
      const sessionId = await sessionFor(message)
      const replyTo = message.chat.type === "private" ? undefined : message.message_id
      const spoken = voice.speaks(fromVoice)
      const owing = { key, chatId: message.chat.id, messageId: message.message_id, sessionId, holder: gw.id }
      await store.replies.owe(botId, owing)
      /** The turn recorded with the owed reply; `taken`: another gateway accepted the message first. */
      let recorded: string | null = null
      let taken = false
      // The message and its updates handled, in one transaction (a full queue: handled, and said).
      const accept = async () => {
        try {
          const accepted = await submit(
            () =>
              gw.sessions.prompt({
                sessionId,
                text,
                images,
                source: "telegram",
                accept: { telegram: { botId, updateIds } },
              }),
            () => done(updateIds),
            () => stopping || gw.state().state === "stopping",
          )
          await store.replies
            .accepted(botId, { ...owing, turnId: accepted.turn.id })
            .then(() => {
              recorded = accepted.turn.id
            })
            .catch((error) => log.warn("could not record an owed reply's turn", { error: String(error) }))
          return accepted
        } catch (error) {
          if (error instanceof DrostError && error.code === "AlreadyAccepted") taken = true
          throw error
        }
      }
      // A full queue is answered with the reason by the streamer; while stopping, the update stays in the
      // inbox (the rejection) and is handled after the restart.
      // The message the answer streams into: a takeover after a crash edits it rather than adding one.
      const onPosted = (answerId: number) =>
        void store.replies
          .posted(botId, key, answerId)
          .catch((error) => log.warn("could not record an answer's message", { error: String(error) }))
      reply = streamReply(
        { api: bot.api, bus: gw.bus, chatId: message.chat.id, pacer: pacers(message.chat.id), log, replyTo, onPosted },
        sessionId,
        accept,
      ).then(async (answered) => {
        // Answered (or refused, or answered by another message's turn): nothing is owed any more. The
        // window between the send and this write is what a kill can hit: the reply is then sent again.
        if (!taken)
          await store.replies.settle(botId, key, recorded).catch((error) => {
            owed.unsettled(key, recorded)
            log.warn("could not settle an answered message's reply", { error: String(error) })
          })
        if (answered && spoken) await speakAnswer(message.chat.id, answered, replyTo)
      })
    } catch (error) {
      owed.release(key)
      throw error
    }
    reply = reply.finally(() => owed.release(key))
    // queue: the lane holds the chat's next message until this answer is sent, so a crash leaves it in
    // the inbox (handled after the restart) rather than as a queued turn. interrupt and collect need
    // the next message to reach the busy session.
    if (laneMode(gw.config, "telegram") === "queue") return await reply
    const tracked = reply.catch((error) =>
      log.error("streaming an answer failed", { chat: message.chat.id, error: String(error) }),
    )
    replies.add(tracked)
    void tracked.finally(() => replies.delete(tracked))
  }

  /** Also say the answer, as a voice message after the text; a failure is a short note, the text stands. */
  const speakAnswer = async (chatId: number, answered: Answered, replyTo?: number) => {
    try {
      void bot.api.sendChatAction(chatId, "record_voice").catch(() => {})
      const audio = await voice.speak(answered.text)
      if (!audio) return log.info("answer not spoken: no words, or longer than voice.speak.maxChars", { chat: chatId })
      await pacers(chatId).run(() => voice.send(chatId, audio, replyTo))
      gw.bus.publish(TelegramEvent.VoiceSent, {
        bot: botId,
        chatId,
        profile: voice.speaking!,
        bytes: audio.bytes.length,
      })
    } catch (error) {
      const reason = (error as Error).message
      log.warn("spoken reply failed", { chat: chatId, error: reason })
      gw.bus.publish(TelegramEvent.VoiceFailed, { bot: botId, chatId, stage: "speak", reason })
      await send(chatId, `🔇 No spoken reply: ${reason}`).catch(() => {})
    }
  }

  /**
   * A voice or audio message: refused with a reason (no provider, over a limit) before any download,
   * else transcribed; the transcript is shown in the chat and becomes the user's text (with the
   * caption, if any). The update is handled only once the user has been answered either way.
   */
  const listen = async (message: Message, updateId: number, note: VoiceNote, caption: string) => {
    const chatId = message.chat.id
    const refuse = async (stage: "refused" | "transcribe", reason: string, text: string) => {
      gw.bus.publish(TelegramEvent.VoiceFailed, { bot: botId, chatId, stage, reason })
      await send(chatId, text)
      await done([updateId])
    }
    const refusal = voice.refusal(note)
    if (refusal) return await refuse("refused", refusal.replace(/^🎤 /, ""), refusal)
    const started = Date.now()
    let heard: { text: string; bytes: number }
    try {
      void bot.api.sendChatAction(chatId, "typing").catch(() => {})
      heard = await voice.transcribe(note)
    } catch (error) {
      const reason = (error as Error).message
      if (error instanceof VoiceRefusal) return await refuse("refused", reason, reason)
      log.warn("transcription failed", { chat: chatId, error: reason })
      return await refuse(
        "transcribe",
        reason,
        `⚠️ I could not transcribe this voice message (${reason}). Nothing reached the agent: send it again, or type it.`,
      )
    }
    gw.bus.publish(TelegramEvent.VoiceTranscribed, {
      bot: botId,
      chatId,
      profile: voice.transcribing!,
      durationSec: note.durationSec,
      bytes: heard.bytes,
      chars: heard.text.length,
      ms: Date.now() - started,
    })
    if (!heard.text)
      return await refuse(
        "transcribe",
        "no words recognised",
        "🎤 I could not make out any words in this voice message. Send it again, or type it.",
      )
    for (const piece of cutText(heard.text, 3900)) await send(chatId, `🎤 ${piece}`, `🎤 <i>${escapeHtml(piece)}</i>`)
    await converse(message, [updateId], caption ? `${caption}\n\n${heard.text}` : heard.text, [], true)
  }

  const runAlbum = async (album: Album) => {
    const first = album.messages[0]!
    const images = []
    for (const item of album.messages) {
      const ref = imageOf(item)
      if (ref) images.push(await download(bot.api, fileUrl, ref))
    }
    const caption = album.messages
      .map((item) => item.caption ?? "")
      .filter(Boolean)
      .join("\n")
    await converse(first, album.updateIds, caption, images)
  }
  const albums = createAlbums(config.albumWaitMs, (album) => void lane(album.chatId, () => runAlbum(album)))

  const pair = async (message: Message, updateId: number) => {
    const from = message.from!
    const name =
      [from.first_name, from.last_name].filter(Boolean).join(" ") + (from.username ? ` (@${from.username})` : "")
    const result = await store.pairingFor({ botId, userId: from.id, chatId: message.chat.id, name })
    gw.bus.publish(TelegramEvent.PairingRequested, {
      bot: botId,
      userId: from.id,
      chatId: message.chat.id,
      created: Boolean(result?.created),
    })
    const last = pairingSent.get(from.id) ?? 0
    if (result && (result.created || Date.now() - last > 60_000)) {
      pairingSent.set(from.id, Date.now())
      const minutes = Math.round((result.pairing.expiresAt - Date.now()) / 60_000)
      await send(
        message.chat.id,
        "",
        `This bot is private. To get access, ask its owner to run:\n\n<code>drost telegram approve ${result.pairing.code}</code>\n\nThe code works once and expires in ${minutes || Math.round(PAIRING_TTL_MS / 60_000)} minutes.`,
      )
    } else if (!result)
      log.warn("this user was issued the most pairing codes allowed in an hour; not issuing another", {
        user: from.id,
      })
    await done([updateId])
  }

  const command = async (message: Message, updateId: number, text: string) => {
    const chatId = message.chat.id
    if (/^\/start(@\S+)?(\s|$)/i.test(text)) {
      await send(
        chatId,
        "Hello! Send a message to talk to the agent. /help lists the commands, /new starts a fresh session.",
      )
      await done([updateId])
      return true
    }
    const reply = await dispatch(
      gw,
      {
        channel: "telegram",
        sessionId: await store.session(botId, chatId),
        setSession: (id) => store.setSession(botId, chatId, id),
      },
      text,
    )
    if (!reply) return false
    const shown = commandReply(reply)
    await send(chatId, shown.text, shown.html)
    await done([updateId])
    return true
  }

  const handle = async (update: Update) => {
    const message = update.message
    if (!message) return await done([update.update_id])
    const chatId = message.chat.id
    const verdict = await judge(access, message)
    if (verdict.kind === "ignore") {
      gw.bus.publish(TelegramEvent.Ignored, {
        bot: botId,
        userId: message.from?.id ?? 0,
        chatId,
        reason: verdict.reason,
      })
      return await done([update.update_id])
    }
    if (verdict.kind === "pair") return await pair(message, update.update_id)
    if (message.media_group_id && imageOf(message)) {
      const closed = albums.add(update.update_id, message)
      if (closed) await runAlbum(closed)
      return
    }
    const open = albums.take(chatId)
    if (open) await runAlbum(open)
    if (verdict.text.startsWith("/") && (await command(message, update.update_id, verdict.text))) return
    const note = voiceOf(message)
    if (note) return await listen(message, update.update_id, note, verdict.text)
    const kind = unsupported(message)
    if (kind) {
      await send(chatId, `Sorry, ${kind} are not supported yet. Send text or a photo.`)
      return await done([update.update_id])
    }
    const ref = imageOf(message)
    const images = ref ? [await download(bot.api, fileUrl, ref)] : []
    await converse(message, [update.update_id], verdict.text, images)
  }

  let me: UserFromGetMe | null = null
  const access: AccessDeps = {
    config,
    get me() {
      return me!
    },
    approved: (userId) => store.approved(botId, userId),
  }

  // Approval buttons first: a press must not queue behind the turn that waits for it.
  const buttons = createApprovalButtons({
    gw,
    api: bot.api,
    botId,
    log,
    pacer: pacers,
    allowed: (userId) => isAllowedUser(access, userId),
    done,
  })
  bot.use(buttons.middleware)
  // Commands too (/stop, /status): they must not queue behind the turn they are about.
  bot.use(async (ctx, next) => {
    const message = ctx.update.message
    if (!message?.text?.includes("/")) return await next()
    const verdict = await judge(access, message)
    if (verdict.kind !== "allow" || !verdict.text.startsWith("/")) return await next()
    if (!(await command(message, ctx.update.update_id, verdict.text))) await next()
  })
  bot.use(sequentialize((ctx) => (ctx.chat ? String(ctx.chat.id) : undefined)))
  bot.use((ctx) => {
    const chatId = ctx.chat?.id ?? 0
    return lane(chatId, () => handle(ctx.update))
  })
  bot.catch((error) => log.error("update failed", { error: String(error.error) }))

  const notifyApprovals = async () => {
    for (const pairing of await store.unnotified(botId)) {
      await store.notified(pairing.code)
      await send(pairing.chatId, "✅ You're approved. Send a message to start talking to the agent.").catch((error) =>
        log.warn("could not tell a user about their approval", { user: pairing.userId, error: String(error) }),
      )
    }
  }

  const boot = async () => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        me = await bot.api.getMe()
        break
      } catch (error) {
        const failure = classify(error)
        health(
          failure.kind === "unauthorized"
            ? `invalid bot token (Telegram answered ${failure.message}); fix the token and restart`
            : `cannot reach Telegram (${failure.message}); retrying`,
        )
        log.warn("getMe failed", { kind: failure.kind, error: failure.message })
        await sleep(failure.kind === "unauthorized" ? 60_000 : Math.min(30_000, 1000 * 2 ** attempt))
      }
    }
    if (stopping || !me) return
    bot.botInfo = me
    health(null)
    buttons.start()
    log.info("telegram bot connected", { bot: `@${me.username}`, id: botId })
    // Telegram's command names: 1-32 of a-z, 0-9 and _ (plugin commands are lowercase letters).
    const commands = commandMenu(gw)
      .filter((entry) => /^[a-z0-9_]{1,32}$/.test(entry.name))
      .map((entry) => ({ command: entry.name, description: entry.help.slice(0, 256) }))
    await bot.api.setMyCommands(commands).catch((error) => log.warn("setMyCommands failed", { error: String(error) }))
    await bot.api.deleteWebhook().catch((error) => log.warn("deleteWebhook failed", { error: String(error) }))
    poller = createPoller({
      api: bot.api,
      store,
      botId,
      timeoutSec: config.pollTimeoutSec,
      stallMs: config.stallMs,
      log,
      health,
      // The gateway that polls answers what a crash left owed: at once when it takes the lease, then
      // every SWEEP_MS while it holds it (a gone gateway's turns are ended by recovery meanwhile).
      onLease: () => void owed.sweep(),
    })
    sweeper = setInterval(() => {
      if (poller?.holds()) void owed.sweep()
    }, SWEEP_MS)
    const sink = createConcurrentSink<Update>({ consume: (update) => bot.handleUpdate(update) }, async (error) =>
      log.error("update handler failed", { error: String(error) }),
    )
    runner = createRunner(createSource(poller.supplier), sink)
    runner.start()
    notifier = setInterval(
      () =>
        void notifyApprovals().catch((error) => log.warn("could not read approved pairings", { error: String(error) })),
      2000,
    )
    runner.task()?.catch((error) => log.error("polling stopped unexpectedly", { error: String(error) }))
  }

  return {
    component,
    start() {
      booting = boot().catch((error) => {
        log.error("telegram channel failed to start", { error: String(error) })
        health(`failed to start: ${String(error)}`)
      })
    },
    async stop(graceMs) {
      stopping = true
      buttons.stop()
      if (notifier) clearInterval(notifier)
      if (sweeper) clearInterval(sweeper)
      albums.clear()
      await runner?.stop()
      poller?.close()
      const pending = Promise.allSettled([...lanes.pending(), ...replies, owed.close()])
      await Promise.race([pending, Bun.sleep(graceMs)])
      await Promise.race([booting, Bun.sleep(100)])
      health(null)
    },
  }
}
