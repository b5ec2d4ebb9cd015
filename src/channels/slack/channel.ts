/**
 * One Slack app attached to the gateway over Socket Mode (no public URL): @slack/socket-mode for the
 * WebSocket, @slack/web-api for posting. DMs and @mentions, each thread its own session, the shared
 * slash commands (typed in a DM, or as `/drost <command>`), streamed answers by `chat.update`, mrkdwn,
 * Block Kit approval buttons.
 *
 * Durability: an Events API envelope is written to the inbox (the shared one, src/store/channels.ts, through
 * the channel host, like its conversations and pairings) before it is acknowledged, and
 * marked done in the same transaction that makes its user message durable (or after a command's or
 * refusal's answer). Slack sends an unacknowledged envelope again; an event id seen before is
 * acknowledged and dropped; what was received and not done when the gateway died is handled after the
 * restart, before the socket reconnects. So after kill -9 nothing is answered twice and nothing is lost.
 * A bad token or an unreachable Slack marks only this channel degraded.
 */
import { SocketModeClient } from "@slack/socket-mode"
import { type Logger as SlackLogger, LogLevel, WebClient } from "@slack/web-api"
import { SlackEvent } from "../../core/channel-events.ts"
import type { SlackConfig } from "../../core/slack-config.ts"
import { dispatch } from "../../gateway/commands.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import { Log, type Logger } from "../../util/log.ts"
import { createChannelHost, type Host } from "../host.ts"
import { createPacer, type Pacer } from "../pacer.ts"
import { conversationOf, isAllowedUser, judge, type SlackMessage } from "./access.ts"
import { type BlockPress, createApprovalButtons, placeOf } from "./approvals.ts"
import { downloadImage, isImage } from "./files.ts"
import { escapeMrkdwn, splitMrkdwn } from "./mrkdwn.ts"
import { streamReply } from "../stream.ts"
import { createSlackSurface, MESSAGE_LIMIT } from "./reply.ts"
import { PAIRING_TTL_MS } from "../../store/telegram.ts"
import { resolveSlackTokens } from "./token.ts"

export const DEFAULT_API_URL = "https://slack.com/api/"

export interface SlackChannel {
  readonly component: string
  start(): void
  stop(graceMs: number): Promise<void>
}

/** The SDK's log lines go to ours (warnings and errors only: its debug output names envelopes). */
export function sdkLogger(log: Logger): SlackLogger {
  let level = LogLevel.WARN
  return {
    debug: () => {},
    info: () => {},
    warn: (...args: unknown[]) => log.warn(args.map(String).join(" ")),
    error: (...args: unknown[]) => log.warn(args.map(String).join(" ")),
    setLevel: (next: LogLevel) => {
      level = next
    },
    getLevel: () => level,
    setName: () => {},
  }
}

/** A Slack error as the person reading `drost status` needs it. */
export function slackProblem(error: unknown, what: string): { fatal: boolean; problem: string } {
  const code = (error as { data?: { error?: string } }).data?.error ?? (error as Error).message ?? String(error)
  const fatal = /invalid_auth|not_authed|account_inactive|token_revoked|not_allowed_token_type|missing_scope/.test(
    String(code),
  )
  return {
    fatal,
    problem: fatal
      ? `${what} rejected (Slack answered ${code}); fix it and restart`
      : `cannot reach Slack (${code}); retrying`,
  }
}

interface Envelope {
  ack(response?: Record<string, unknown>): Promise<void>
  type: string
  body: Record<string, unknown>
}

export function createSlackChannel(gw: Gateway, config: SlackConfig, component = "slack"): SlackChannel {
  const log = Log.create(component)
  const host = createChannelHost(gw, { kind: "slack", component, config, editIntervalMs: config.editIntervalMs })
  const health = host.health
  const tokens = resolveSlackTokens(config, gw.config.stateDir)
  if (!tokens.ok)
    return {
      component,
      start() {
        log.warn("slack channel not started", { problem: tokens.problem })
        health(tokens.problem)
      },
      stop: async () => {},
    }
  const apiUrl = config.apiUrl ?? DEFAULT_API_URL
  const logger = sdkLogger(log)
  const web = new WebClient(tokens.botToken, { slackApiUrl: apiUrl, logger, retryConfig: { retries: 5 } })
  const socket = new SocketModeClient({
    appToken: tokens.appToken,
    logger,
    clientPingTimeout: config.reconnectMs,
    // Reconnects are ours (connect() below): the SDK's own retry runs start() in a timer whose
    // rejection (a revoked app token, Slack unreachable) nobody can catch, and then stays down.
    autoReconnectEnabled: false,
    clientOptions: { slackApiUrl: apiUrl },
  })
  const pacers = new Map<string, Pacer>()
  const pacer = (channel: string) => {
    const found = pacers.get(channel) ?? createPacer(config.editIntervalMs)
    pacers.set(channel, found)
    return found
  }
  const replies = new Set<Promise<void>>()
  /** The app's inbox and pairings in the shared store (scope `slack:<team>:<bot user>`), once auth.test told who it is. */
  let inbox: ReturnType<Host<SlackConfig>["inbox"]> | null = null
  let pairings: ReturnType<Host<SlackConfig>["pairing"]> | null = null
  let scope = ""
  let botUser = ""
  let stopping = false
  let booting: Promise<void> | null = null
  let approvals: ReturnType<typeof createApprovalButtons> | null = null
  let notifier: ReturnType<typeof setInterval> | null = null
  const pairingSent = new Map<string, number>()
  const access = {
    config,
    approved: async (userId: string) => (await pairings?.approved(userId)) ?? false,
  }
  const allowed = (userId: string) => isAllowedUser(access, userId)

  /** The host's conversation (the sessions' channelKey): `<team>:<bot user>|<channel>[:<thread ts>]`. */
  const keyOf = (conversation: string) => `${scope}|${conversation}`
  const lane = <T>(conversation: string, fn: () => Promise<T>): Promise<T> => host.lane(keyOf(conversation), fn)

  const placeIn = (conversation: string) => placeOf(`${scope}|${conversation}`, scope)!

  const say = async (conversation: string, text: string) => {
    const place = placeIn(conversation)
    for (const piece of splitMrkdwn(text, MESSAGE_LIMIT))
      await pacer(place.channel).run(() =>
        web.chat.postMessage({
          channel: place.channel,
          text: piece,
          ...(place.threadTs ? { thread_ts: place.threadTs } : {}),
        }),
      )
  }

  const sessionFor = (conversation: string, event: SlackMessage): Promise<string> =>
    host.sessionFor(
      keyOf(conversation),
      event.channel.startsWith("D") ? `Slack: DM with ${event.user}` : `Slack: thread in ${event.channel}`,
    )

  const command = async (conversation: string, eventId: string, text: string): Promise<boolean> => {
    const reply = await host.commandIn(keyOf(conversation), text)
    if (!reply) return false
    await say(conversation, reply.listing ? `\`\`\`\n${escapeMrkdwn(reply.text)}\n\`\`\`` : escapeMrkdwn(reply.text))
    await inbox!.done([eventId])
    return true
  }

  const converse = async (
    event: SlackMessage,
    eventId: string,
    conversation: string,
    text: string,
    images: { mediaType: string; data: string }[] = [],
  ) => {
    const sessionId = await sessionFor(conversation, event)
    const place = placeIn(conversation)
    const accept = () => host.accept(inbox!, [eventId], { sessionId, text, images })
    // A full queue is answered with the reason by the streamer (host.accept marks the event done); while
    // stopping, the event stays in the inbox (the rejection) and is handled after the restart.
    const reply: Promise<unknown> = streamReply(
      {
        bus: gw.bus,
        surface: createSlackSurface({
          web,
          channel: place.channel,
          threadTs: place.threadTs,
          editIntervalMs: config.editIntervalMs,
        }),
        pacer: pacer(place.channel),
        log,
        conversation,
      },
      sessionId,
      accept,
    )
    if (host.laneMode() === "queue") return void (await reply)
    const tracked = reply.then(
      () => {},
      (error) => log.error("streaming an answer failed", { conversation, error: String(error) }),
    )
    replies.add(tracked)
    void tracked.finally(() => replies.delete(tracked))
  }

  /** A stranger's DM with pairing on: a one-time code (again at most once a minute), nothing else. */
  const pair = async (eventId: string, event: SlackMessage) => {
    const user = event.user!
    const result = await pairings!.request({ userId: user, conversation: event.channel, name: "" })
    gw.bus.publish(SlackEvent.Ignored, { app: scope, userId: user, channel: event.channel, reason: "pairing offered" })
    const last = pairingSent.get(user) ?? 0
    if (result && (result.created || Date.now() - last > 60_000)) {
      pairingSent.set(user, Date.now())
      const minutes = Math.round((result.expiresAt - Date.now()) / 60_000) || PAIRING_TTL_MS / 60_000
      await say(
        event.channel,
        `This app is private. To get access, ask its owner to run:\n\n\`drost slack approve ${result.code}\`\n\nThe code works once and expires in ${minutes} minutes.`,
      )
    } else if (!result) log.warn("this member was issued the most pairing codes allowed in an hour", { user })
    await inbox!.done([eventId])
  }

  const notifyApprovals = async () => {
    for (const pairing of await pairings!.unnotified()) {
      await pairings!.notified(pairing.code)
      await say(pairing.conversation, "✅ You're approved. Send a message to start talking to the agent.").catch(
        (error) =>
          log.warn("could not tell a member about their approval", { user: pairing.userId, error: String(error) }),
      )
    }
  }

  /**
   * One stored message event: judged, then started, a command at once (outside the lane) or a turn in
   * its lane. Resolves once started (the lane entered) with `done`, its end: events started one after
   * another (`inOrder`) enter their lanes in that order, whatever the store's reads on the way take.
   */
  const start = async (eventId: string, event: SlackMessage): Promise<{ done: Promise<unknown> }> => {
    const verdict = await judge(
      {
        ...access,
        botUser,
        knownThread: async (conversation) => (await host.currentSession(keyOf(conversation))) !== null,
      },
      event,
    )
    if (verdict.kind === "pair") return { done: pair(eventId, event) }
    if (verdict.kind === "ignore") {
      gw.bus.publish(SlackEvent.Ignored, {
        app: scope,
        userId: event.user ?? "",
        channel: event.channel,
        reason: verdict.reason,
      })
      return { done: inbox!.done([eventId]) }
    }
    const conversation = conversationOf(event)
    const files = event.files ?? []
    const shared = files.filter(isImage)
    const turn = async () => {
      if (files.length > shared.length && !verdict.text && shared.length === 0) {
        await say(conversation, "Sorry, only images are supported as files so far. Send text or an image.")
        return await inbox!.done([eventId])
      }
      await lane(conversation, async () => {
        const images = []
        try {
          for (const file of shared) images.push(await downloadImage(file, tokens.botToken, apiUrl))
        } catch (error) {
          const reason = escapeMrkdwn((error as Error).message)
          await say(conversation, `⚠️ I could not fetch the image (${reason}). Nothing reached the agent.`)
          return await inbox!.done([eventId])
        }
        await converse(event, eventId, conversation, verdict.text, images)
      })
    }
    if (verdict.text.startsWith("/"))
      return { done: command(conversation, eventId, verdict.text).then((answered) => (answered ? undefined : turn())) }
    return { done: turn() }
  }
  const handle = async (eventId: string, event: SlackMessage) => await (await start(eventId, event)).done

  /** Live events are stored and started in the order Slack sent them. */
  let started: Promise<unknown> = Promise.resolve()
  const inOrder = <T>(step: () => Promise<T>): Promise<T> => {
    const next = started.then(step)
    started = next.catch(() => {})
    return next
  }

  /**
   * A person's message worth judging. Slack also sends the app's own posts and every chat.update as
   * message events (bot_id, message_changed, …): they are acknowledged and dropped unstored.
   */
  const isMessage = (event: Record<string, unknown>) =>
    (event.type === "message" || event.type === "app_mention") &&
    typeof event.channel === "string" &&
    !event.bot_id &&
    event.user !== botUser &&
    (event.subtype === undefined || event.subtype === "file_share")

  const onEnvelope = async (envelope: Envelope) => {
    if (stopping) return // not acknowledged: Slack sends it again to the next connection
    if (envelope.type === "events_api") {
      const eventId = String(envelope.body.event_id ?? "")
      const event = envelope.body.event as Record<string, unknown>
      if (!eventId || !isMessage(event)) return await envelope.ack()
      const stored = inbox!.receive(eventId, event)
      const begun = inOrder(async () =>
        (await stored) ? await start(eventId, event as unknown as SlackMessage) : null,
      )
      // Awaited below; a failed write rejects both, and is reported once (by the caller of onEnvelope).
      begun.catch(() => {})
      // Acknowledged once durable (a failed write is not: Slack sends the event again).
      await stored
      await envelope.ack()
      await (await begun)?.done
      return
    }
    if (envelope.type === "interactive") {
      await envelope.ack()
      if (envelope.body.type === "block_actions") void approvals?.press(envelope.body as unknown as BlockPress)
      return
    }
    if (envelope.type === "slash_commands") {
      const user = String(envelope.body.user_id ?? "")
      if (!(await allowed(user))) return await envelope.ack()
      const channel = String(envelope.body.channel_id ?? "")
      const conversation = channel.startsWith("D") ? channel : null
      const line = `/${String(envelope.body.text ?? "").trim() || "help"}`
      const reply = conversation
        ? await host.commandIn(keyOf(conversation), line)
        : await dispatch(gw, { channel: "slack", sessionId: null, setSession: () => {} }, line)
      await envelope.ack({
        response_type: "ephemeral",
        text: reply ? reply.text : `Unknown command ${line}; try /drost help`,
      })
    }
  }

  socket.on("slack_event", (envelope: Envelope) => {
    void onEnvelope(envelope).catch((error) =>
      log.error("envelope failed", { type: envelope.type, error: String(error) }),
    )
  })
  socket.on("connected", () => health(null))

  /** Open the socket, retrying with backoff; a rejected app token stops trying (health says why). */
  let connecting = false
  const connect = async (delayMs = 0) => {
    if (connecting) return
    connecting = true
    try {
      if (delayMs) await Bun.sleep(delayMs)
      for (let attempt = 0; !stopping; attempt++) {
        try {
          await socket.start()
          return
        } catch (error) {
          const failure = slackProblem(error, "the app-level token")
          health(failure.problem)
          log.warn("Socket Mode connection failed", { error: failure.problem })
          if (failure.fatal) return
          await Bun.sleep(Math.min(30_000, config.reconnectMs * 2 ** attempt))
        }
      }
    } finally {
      connecting = false
    }
  }
  // Slack asked to reconnect (refresh_requested), or the connection dropped: a new one, after a pause.
  socket.on("disconnected", () => {
    if (stopping || connecting) return
    log.info("Socket Mode connection closed; reconnecting")
    void connect(Math.min(config.reconnectMs, 1000))
  })

  const boot = async () => {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        const me = await web.auth.test()
        botUser = String(me.user_id)
        scope = `${me.team_id}:${botUser}`
        break
      } catch (error) {
        const failure = slackProblem(error, "the bot token")
        health(failure.problem)
        log.warn("auth.test failed", { error: failure.problem })
        await Bun.sleep(failure.fatal ? 60_000 : Math.min(30_000, 1000 * 2 ** attempt))
      }
    }
    if (stopping || !scope) return
    inbox = host.inbox(`slack:${scope}`)
    pairings = host.pairing(`slack:${scope}`)
    registerLocator(gw, component, scope)
    approvals = createApprovalButtons({ gw, web, scope, log, allowed })
    approvals.start()
    // What was received and not handled before a crash comes first, in order.
    for (const entry of await inbox.pending()) await handle(entry.eventId, entry.payload as SlackMessage)
    if (config.pairing)
      notifier = setInterval(
        () =>
          void notifyApprovals().catch((error) =>
            log.warn("could not read approved pairings", { error: String(error) }),
          ),
        2000,
      )
    log.info("slack app connected", { team: scope.split(":")[0], bot: botUser })
    await connect()
  }

  return {
    component,
    start() {
      booting = boot().catch((error) => {
        log.error("slack channel failed to start", { error: String(error) })
        health(`failed to start: ${String(error)}`)
      })
    },
    async stop(graceMs) {
      stopping = true
      if (notifier) clearInterval(notifier)
      approvals?.stop()
      await socket.disconnect().catch(() => {})
      const pending = Promise.allSettled([...host.pending(), ...replies])
      await Promise.race([pending, Bun.sleep(graceMs)])
      await Promise.race([booting, Bun.sleep(100)])
      health(null)
    },
  }
}

/** Sessions of this app (keys `<scope>|<conversation>`) are delivered to under its component name. */
function registerLocator(gw: Gateway, component: string, scope: string) {
  gw.continuity.deliveries.registerLocator("slack", (key) => {
    const place = placeOf(key, scope)
    return place ? { channel: component, chat: key.slice(scope.length + 1) } : null
  })
}

/** Schedule and background deliveries: plain mrkdwn-escaped text into the conversation (a DM or a thread). */
export function registerSlackDelivery(gw: Gateway, config: SlackConfig, component: string) {
  const tokens = resolveSlackTokens(config, gw.config.stateDir)
  if (!tokens.ok) return
  const web = new WebClient(tokens.botToken, {
    slackApiUrl: config.apiUrl ?? DEFAULT_API_URL,
    logger: sdkLogger(Log.create(component)),
  })
  gw.continuity.deliveries.register(component, async (chat, text) => {
    const [channel, threadTs] = String(chat).split(":")
    for (const piece of splitMrkdwn(escapeMrkdwn(text), MESSAGE_LIMIT))
      await web.chat.postMessage({ channel: channel!, text: piece, ...(threadTs ? { thread_ts: threadTs } : {}) })
  })
}
