/**
 * One Discord bot attached to the gateway, on the channel contract (src/channels/host.ts gives the
 * inbox, sessions, lanes, commands, `accept` and the shared reply streamer): @discordjs/core over
 * @discordjs/ws (the Gateway WebSocket: heartbeats, RESUME after a dropped connection, a fresh IDENTIFY
 * after INVALID_SESSION) and @discordjs/rest (keeps to the rate-limit headers, waits out a 429). DMs and
 * mentions in listed guilds reach the agent; every DM, channel and thread is its own conversation and
 * session (threads as sessions). Drost's commands are slash commands; approvals are buttons; image
 * attachments are image input.
 *
 * At-most-once across kill -9: a MESSAGE_CREATE is written to the inbox before it is handled, and marked
 * done in the same transaction that makes its user message durable (or after its refusal or command
 * answer was sent). The Gateway session is kept in the store, so a restarted gateway RESUMEs and Discord
 * replays what it missed; a replayed or repeated dispatch is refused by the inbox; what a crash left
 * pending is handled after the next READY or RESUMED. A bad token or an unreachable Discord degrades
 * this channel only.
 *
 * Several gateways on one store: one holds the bot's Gateway connection at a time (lease.ts), the others
 * wait on standby (healthy: their Control API and other channels work as usual) and take the connection
 * over, RESUMing the stored session, once its holder stops or is gone.
 */
import { API, Client, GatewayDispatchEvents, GatewayIntentBits, InteractionType } from "@discordjs/core"
import type {
  APIChatInputApplicationCommandInteraction,
  APIInteraction,
  APIMessageComponentInteraction,
  GatewayMessageCreateDispatchData,
} from "@discordjs/core"
import { REST } from "@discordjs/rest"
import { type SessionInfo, WebSocketManager, WebSocketShardEvents } from "@discordjs/ws"
import type { DiscordConfig } from "../../core/channel-config.ts"
import { DiscordEvent } from "../../core/channel-events.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import { Log } from "../../util/log.ts"
import { createChannelHost } from "../host.ts"
import { type AccessDeps, isAllowedUser, judge, withoutMention } from "./access.ts"
import { createArrivals } from "../arrivals.ts"
import { createApprovalButtons } from "./approvals.ts"
import { answer, lineOf, render, slashCommands } from "./commands.ts"
import { imagesOf } from "./media.ts"
import { split } from "./split.ts"
import { createDiscordStore } from "./store.ts"
import { codeOf, discordSurface } from "./surface.ts"
import { DEFAULT_API_ROOT, resolveToken } from "./token.ts"
import { STALE_BEATS } from "../../store/gateways.ts"
import { createConnectionLease } from "./lease.ts"

export const INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.DirectMessages |
  GatewayIntentBits.MessageContent

/** Close codes after which reconnecting cannot help (bad token, intents not enabled, …). */
const FATAL: Record<number, string> = {
  4004: "invalid bot token (the Gateway closed with 4004 Authentication failed); fix the token and restart",
  4013: "the Gateway refused the intents (4013 Invalid intents)",
  4014: "the Message Content intent is not enabled (Developer Portal → Bot → Privileged Gateway Intents); see docs/discord.md",
}
const EPHEMERAL = 64
/** How often a running channel looks for pairings approved from the command line. */
const PAIRING_POLL_MS = 2000

/** Wait for `work`, but no longer than `ms` (the timer is cleared either way). */
async function within(work: Promise<unknown> | null, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

export interface DiscordChannel {
  readonly component: string
  start(): void
  stop(graceMs: number): Promise<void>
}

export function createDiscordChannel(gw: Gateway, config: DiscordConfig, component = "discord"): DiscordChannel {
  const host = createChannelHost(gw, { kind: "discord", component, config, editIntervalMs: config.editIntervalMs })
  const log = Log.create(component)
  const token = resolveToken(config, gw.config.stateDir)
  if (!token.ok)
    return {
      component,
      start: () => {
        log.warn("discord channel not started", { problem: token.problem })
        host.health(token.problem)
      },
      stop: async () => {},
    }

  const botId = token.botId
  const store = createDiscordStore(gw.data, botId, log)
  const inbox = host.inbox(`discord:${botId}`)
  const pairing = host.pairing(`discord:${botId}`)
  const apiRoot = (config.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, "")
  const rest = new REST({ api: apiRoot, version: "10", retries: 2, timeout: 15_000 }).setToken(token.token)
  /** Ends the boot's waits at stop(), so a gateway that cannot reach Discord still stops at once. */
  const halt = new AbortController()
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (halt.signal.aborted) return resolve()
      // The listener goes with its wait: a standby node pauses every second for as long as it runs.
      const done = () => {
        clearTimeout(timer)
        halt.signal.removeEventListener("abort", done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      halt.signal.addEventListener("abort", done)
    })
  const api = new API(rest)
  const parents = new Map<string, string | null>()
  const pairingSent = new Map<string, number>()
  const replies = new Set<Promise<void>>()
  const access: AccessDeps = { config, botId, approved: (userId) => pairing.approved(userId) }
  const allowed = (userId: string) => isAllowedUser(access, userId)
  /** The host's conversation of a Discord channel: unique across bots, and the sessions' channelKey. */
  const conversationOf = (channelId: string) => `${botId}:${channelId}`
  const pacer = (channelId: string) => host.pacer(conversationOf(channelId))
  const approvals = createApprovalButtons({ gw, api, botId, log, pacer, allowed })
  let gateway: WebSocketManager | null = null
  let applicationId: string | null = null
  let stopping = false
  let replayed = false
  let booting: Promise<void> | null = null
  let notifier: ReturnType<typeof setInterval> | null = null
  /** Resolves the wait of the connection held now, with why it ends (the lease lost, or the stop). */
  let ending: ((why: string | null) => void) | null = null
  const lease = createConnectionLease({
    leases: gw.data.leases,
    key: `channel:discord:${botId}`,
    owner: gw.id,
    // The registry's stale limit: a holder judged gone is taken over at once, a live one keeps it this long.
    ttlMs: (gw.config.store?.heartbeatMs ?? 2000) * STALE_BEATS,
    log,
    pause,
    stopped: () => stopping,
    onStandby: (holder) => {
      log.info(`standby: gateway ${holder} holds the Discord connection`, { bot: botId })
      host.health(null)
    },
    onLost: (why) => ending?.(`the Discord connection lease ${why}`),
  })

  const send = async (channelId: string, text: string) => {
    for (const piece of split(text))
      await pacer(channelId).run(() =>
        api.channels.createMessage(channelId, { content: piece, allowed_mentions: { parse: [] } }),
      )
  }

  const sessionFor = (message: GatewayMessageCreateDispatchData): Promise<string> => {
    const name = message.author.global_name ?? message.author.username
    const title = message.guild_id ? `Discord: #${message.channel_id}` : `Discord: @${name}`
    return host.sessionFor(conversationOf(message.channel_id), title)
  }

  /** The parent channel of a thread (guild messages only, when the guild lists channels), cached. */
  const parentOf = async (message: GatewayMessageCreateDispatchData): Promise<string | null> => {
    const guild = config.guilds.find((entry) => entry.id === message.guild_id)
    if (!guild?.channels.length || guild.channels.includes(message.channel_id)) return null
    if (parents.has(message.channel_id)) return parents.get(message.channel_id) ?? null
    const channel = (await api.channels.get(message.channel_id).catch(() => null)) as {
      parent_id?: string
      type?: number
    } | null
    // 10, 11, 12: announcement, public and private threads.
    const parent = channel && [10, 11, 12].includes(channel.type ?? -1) ? (channel.parent_id ?? null) : null
    parents.set(message.channel_id, parent)
    return parent
  }

  const converse = async (message: GatewayMessageCreateDispatchData, text: string) => {
    const channelId = message.channel_id
    const images = await imagesOf(message, log)
    if (!text.trim() && !images.length) return inbox.done([message.id])
    const sessionId = await sessionFor(message)
    // A full queue is answered with the reason by the streamer (host.accept marks the message done); while
    // stopping, the message stays in the inbox (the rejection) and is handled after the restart.
    const reply = host
      .stream({
        surface: discordSurface(api, channelId, config.editIntervalMs),
        conversation: conversationOf(channelId),
        sessionId,
        submit: () => host.accept(inbox, [message.id], { sessionId, text, images }),
        replyTo: message.guild_id ? message.id : undefined,
      })
      .then(() => {})
    // queue: the lane holds the conversation's next message until this answer is sent, so a crash leaves
    // it in the inbox rather than as a queued turn. interrupt and collect need it to reach the session.
    if (host.laneMode() === "queue") return await reply
    const tracked = reply.catch((error) => log.error("streaming an answer failed", { channelId, error: String(error) }))
    replies.add(tracked)
    void tracked.finally(() => replies.delete(tracked))
  }

  const offerPairing = async (message: GatewayMessageCreateDispatchData) => {
    const user = message.author
    const issued = await pairing.request({ userId: user.id, conversation: message.channel_id, name: user.username })
    if (!issued) return log.warn("pairing refused: too many codes for this user", { user: user.id })
    gw.bus.publish(DiscordEvent.PairingRequested, {
      bot: botId,
      userId: user.id,
      channel: message.channel_id,
      created: issued.created,
    })
    const last = pairingSent.get(user.id) ?? 0
    if (!issued.created && Date.now() - last < 60_000) return
    pairingSent.set(user.id, Date.now())
    await send(
      message.channel_id,
      `I don't know you yet. Ask the owner to approve this code: **${issued.code}**\n(\`drost discord approve ${issued.code}\`; it expires in 15 minutes)`,
    )
  }

  /** Tell users approved with `drost discord approve` (from another process) that they can talk now. */
  const notifyApproved = async () => {
    for (const approved of await pairing.unnotified()) {
      await pairing.notified(approved.code)
      await send(approved.conversation, "✅ You're approved: you can talk to me now.").catch((error) =>
        log.warn("could not tell an approved user", { user: approved.userId, error: String(error) }),
      )
    }
  }

  /** One MESSAGE_CREATE (in its conversation's lane, unless it is a command). */
  const handle = async (message: GatewayMessageCreateDispatchData) => {
    try {
      const verdict = await judge(access, message, message.guild_id ? await parentOf(message) : null)
      if (verdict.kind === "ignore") {
        log.debug("message ignored", { user: message.author.id, channel: message.channel_id, reason: verdict.reason })
        gw.bus.publish(DiscordEvent.Ignored, {
          bot: botId,
          userId: message.author.id,
          channel: message.channel_id,
          reason: verdict.reason,
        })
        return inbox.done([message.id])
      }
      if (verdict.kind === "pair") {
        await offerPairing(message)
        return inbox.done([message.id])
      }
      const reply = verdict.text.trim().startsWith("/")
        ? await host.commandIn(conversationOf(message.channel_id), verdict.text.trim())
        : null
      if (reply) {
        for (const piece of render(reply))
          await pacer(message.channel_id).run(() =>
            api.channels.createMessage(message.channel_id, { content: piece, allowed_mentions: { parse: [] } }),
          )
        return inbox.done([message.id])
      }
      await converse(message, verdict.text)
    } catch (error) {
      if (stopping) return
      log.error("handling a message failed", { channel: message.channel_id, error: String(error) })
      await inbox
        .done([message.id])
        .catch((error) => log.warn("could not mark a message handled", { error: String(error) }))
      await send(
        message.channel_id,
        `⚠️ Sorry, that did not work (${codeOf(error) ?? "error"}). Error id: discord:${message.id}`,
      ).catch(() => {})
    }
  }

  /** Messages this process is handling: a replay after taking the connection again skips them. */
  const handling = new Set<string>()
  const handOn = ({ message, replayed }: { message: GatewayMessageCreateDispatchData; replayed: boolean }) => {
    if (handling.has(message.id)) return
    handling.add(message.id)
    const done = () => handling.delete(message.id)
    // A command skips the conversation's lane: /stop must reach the turn that holds it. A replayed one
    // waits in it (as before: what was left is handled in order).
    if (!replayed && withoutMention(message.content, botId).startsWith("/")) void handle(message).finally(done)
    else void host.lane(conversationOf(message.channel_id), () => handle(message)).finally(done)
  }
  /**
   * Messages handed on in the order Discord sent them, what was left unfinished among them; anew for each
   * connection this process holds, as what another gateway left is replayed after each take-over.
   */
  const newArrivals = () =>
    createArrivals<{ message: GatewayMessageCreateDispatchData; replayed: boolean }>((event) => handOn(event))
  let arrivals = newArrivals()

  const receive = (message: GatewayMessageCreateDispatchData) => {
    if (stopping || message.author.id === botId) return
    void arrivals.receive(message.id, inbox.receive(message.id, message), { message, replayed: false }).then(
      (fresh) => fresh || log.debug("message already received", { id: message.id }),
      (error) => log.error("could not store a message", { id: message.id, error: String(error) }),
    )
  }

  /** A slash command or a button press. Never queued behind a turn (/stop must reach it). */
  const interact = async (interaction: APIInteraction) => {
    if (interaction.type === InteractionType.MessageComponent) {
      if (await approvals.press(interaction as APIMessageComponentInteraction)) return
    }
    if (interaction.type !== InteractionType.ApplicationCommand) return
    const command = interaction as APIChatInputApplicationCommandInteraction
    const user = command.member?.user ?? command.user
    const channelId = command.channel?.id ?? command.channel_id
    const guild = config.guilds.find((entry) => entry.id === command.guild_id)
    const permitted =
      !!user &&
      !user.bot &&
      (command.guild_id ? !!guild && (guild.members === "all" || (await allowed(user.id))) : await allowed(user.id))
    if (!permitted || !channelId) {
      await api.interactions
        .reply(command.id, command.token, { content: "You may not use this bot here.", flags: EPHEMERAL })
        .catch((error) => log.warn("refusing a command failed", { error: String(error) }))
      return
    }
    try {
      await api.interactions.defer(command.id, command.token)
      const reply = await host.commandIn(conversationOf(channelId), lineOf(command))
      await answer(api, command.application_id, command.token, render(reply ?? { text: "(no output)" }))
    } catch (error) {
      log.warn("a slash command failed", { command: command.data.name, error: String(error) })
    }
  }

  /** After READY or RESUMED: messages a previous run received and did not finish, once. */
  const replay = async () => {
    if (replayed) return
    replayed = true
    const pending = inbox.pending().then((entries) =>
      entries.map(({ eventId, payload }) => ({
        id: eventId,
        event: { message: payload as GatewayMessageCreateDispatchData, replayed: true },
      })),
    )
    const count = await arrivals.replay(pending)
    if (count) log.info("handling messages a previous run received but did not finish", { count })
  }

  /** The Gateway connection of this lease's term, its session kept in the store while the lease is held. */
  const connect = async () => {
    gateway = new WebSocketManager({
      token: token.token,
      intents: INTENTS,
      rest,
      // Kept in the store: after a restart the gateway RESUMEs, and Discord replays what came meanwhile. Only
      // the lease's holder writes it: a node that lost it leaves alone the session its successor uses.
      retrieveSessionInfo: (shardId) => store.gatewaySession<SessionInfo>(shardId),
      updateSessionInfo: (shardId, info) => (lease.holds() ? store.setGatewaySession(shardId, info) : undefined),
    })
    gateway.on(WebSocketShardEvents.Closed, (code: number) => {
      if (FATAL[code]) host.health(FATAL[code]!)
      else if (!stopping && lease.holds()) log.info("gateway connection closed; reconnecting", { code })
    })
    gateway.on(WebSocketShardEvents.Error, (error: Error) => log.warn("gateway error", { error: String(error) }))
    const client = new Client({ rest, gateway })
    // READY after an IDENTIFY, RESUMED after a resume (also the first connect after a restart).
    for (const event of [GatewayDispatchEvents.Ready, GatewayDispatchEvents.Resumed] as const)
      client.on(event, () => {
        host.health(null)
        void replay().catch((error) => log.error("replaying unfinished messages failed", { error: String(error) }))
      })
    client.on(GatewayDispatchEvents.MessageCreate, ({ data }) => receive(data))
    client.on(GatewayDispatchEvents.InteractionCreate, ({ data }) => {
      if (!stopping) void interact(data).catch((error) => log.warn("an interaction failed", { error: String(error) }))
    })
    await gateway.connect()
  }

  const boot = async () => {
    // The live check first: a bad token is a health problem, not a reconnect loop.
    for (let attempt = 1; !stopping; attempt++) {
      try {
        const me = await api.users.getCurrent()
        applicationId = (await api.oauth2.getCurrentBotApplicationInformation()).id
        log.info("discord bot ready", { bot: me.id, username: me.username })
        break
      } catch (error) {
        if ((error as { status?: number }).status === 401) {
          host.health("invalid bot token (Discord answered 401 Unauthorized); fix the token and restart")
          return
        }
        host.health(`cannot reach Discord (${String(error)}); retrying`)
        await pause(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)))
      }
    }
    if (stopping || !applicationId) return
    if (config.commands)
      await api.applicationCommands
        .bulkOverwriteGlobalCommands(applicationId, slashCommands(host.commandMenu()))
        .catch((error) => log.warn("registering slash commands failed", { error: String(error) }))
    if (stopping) return
    if (config.pairing) {
      // The holder tells approved users, so that of several gateways one does.
      notifier = setInterval(() => {
        if (lease.holds())
          void notifyApproved().catch((error) => log.warn("could not read approved pairings", { error: String(error) }))
      }, PAIRING_POLL_MS)
      notifier.unref?.()
    }
    // One connection per term of the lease; taken again (and the stored session resumed) after losing it.
    while (await lease.take()) {
      const ended = new Promise<string | null>((resolve) => (ending = resolve))
      store.forget()
      replayed = false
      arrivals = newArrivals()
      if (stopping) break
      try {
        await connect()
      } catch (error) {
        // As before with one node, this one's channel is down; the lease goes so that another may connect.
        await lease.release()
        throw error
      }
      const why = await ended
      ending = null
      if (why === null || stopping) break
      log.warn(`${why}; disconnecting until this gateway holds it again`, { bot: botId })
      // Not 1000: a normal close would end the session on Discord, which the new holder RESUMEs.
      await Promise.resolve(gateway?.destroy({ reason: "connection lease lost", code: 4000 })).catch(() => {})
      gateway = null
    }
  }

  return {
    component,
    start() {
      approvals.start()
      booting = boot().catch((error) => {
        log.error("discord channel failed to start", { error: String(error) })
        host.health(`not started: ${String(error)}`)
      })
    },
    async stop(graceMs) {
      stopping = true
      halt.abort()
      ending?.(null)
      if (notifier) clearInterval(notifier)
      approvals.stop()
      // A REST call of the boot still on its way ends within its timeout; the stop does not wait past the grace.
      await within(booting, graceMs)
      await Promise.resolve(gateway?.destroy({ reason: "gateway stopping" })).catch(() => {})
      // After the connection closed (its session stored as it ends), so the next holder finds it.
      await lease.release()
      rest.clearHashSweeper()
      rest.clearHandlerSweeper()
      const pending = [...replies, ...host.pending()]
      if (pending.length) await within(Promise.allSettled(pending), graceMs)
    },
  }
}
