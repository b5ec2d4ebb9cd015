/**
 * The channel host a plugin's channel gets (PluginChannelHost, src/sdk/plugin.ts): the same contract the
 * built-in channels run on (contract.ts), assembled from the same blocks (host.ts, store/channels.ts,
 * access.ts, lane.ts, stream.ts, pacer.ts, approvals.ts, deliver.ts). The plugin supplies its platform's
 * connection, the normalisation of its events to a ChannelMessage and the surfaces; `serve` does the rest:
 *
 *   receive(message) ─▶ the inbox (durable before the plugin acknowledges the platform; a redelivery is refused)
 *                    ─▶ access: allow / pair (a one-time code, `drost pairing approve`) / ignore (0 provider requests,
 *                       `<kind>.message.ignored`)
 *                    ─▶ a command? answered at once, outside the conversation's lane
 *                    ─▶ lane ─▶ accept (the user message and the inbox in one transaction) ─▶ streamReply
 *   approvals ─▶ the plugin's buttons in the conversation that owns the session; press() decides for allowed users
 *   schedules and background results ─▶ post() to the conversation, under the channel's name
 *   health ─▶ "<kind>: <problem>" in /status, /healthz
 *
 * The channel's kind is the plugin channel's name; conversations are the platform's own ids, prefixed
 * here with the serve scope (the bot's id) so that sessions (`channelKey`), deliveries and approvals
 * find the instance that owns them.
 */
import { defineEvent } from "../core/event.ts"
import { Type } from "../core/schema.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { ChannelEndpoint, ChannelMessage, ChannelServeOptions, PluginChannelHost } from "../sdk/plugin.ts"
import { Log } from "../util/log.ts"
import { isAllowed, judgeAccess } from "./access.ts"
import { createArrivals } from "./arrivals.ts"
import { approvalButtons, createApprovalRelay, describeApproval, outcomeLabel, parseApprovalData } from "./approvals.ts"
import type { AccessPolicy, Answered } from "./contract.ts"
import { pieces, registerChannelDelivery } from "./deliver.ts"
import { createChannelHost } from "./host.ts"
import { createPacer, type Pacer } from "./pacer.ts"
import { attachments, createListener, hasContent, storable } from "./plugin-media.ts"
import { streamReply } from "./stream.ts"

/** How often approvals made from the CLI (another process) are looked for, to tell the person. */
const NOTIFY_EVERY_MS = 1000

const ignoredEvent = (kind: string) =>
  defineEvent(
    `${kind}.message.ignored`,
    Type.Object({ scope: Type.String(), userId: Type.String(), conversation: Type.String(), reason: Type.String() }),
  )

export interface HostedPluginChannel {
  host: Omit<PluginChannelHost, "config" | "log">
  /** After the plugin's own stop: no more handling; answers being streamed finish within `graceMs`. */
  close(graceMs: number): Promise<void>
}

/**
 * The host of one instance of a plugin's channel: `component` is the instance (`loop`, `loop#2` for the
 * second `channels` entry of kind `loop`): health, logs, deliveries and `ctx.state` are its own. The
 * first instance's scopes are the kind's (`<kind>:<bot id>`); a further one's carry its name
 * (`<kind>:<kind>#2/<bot id>`), so two instances never share an inbox, pairings or conversations.
 */
export function createPluginChannelHost(gw: Gateway, kind: string, component = kind): HostedPluginChannel {
  const host = createChannelHost(gw, { kind, component, config: undefined, editIntervalMs: 1000 })
  const log = Log.create(component)
  // The store contract (either engine), like the host's inbox and pairings.
  const store = gw.data.channels
  /** The instance's own state (ctx.state): `plugin:<instance>`. */
  const stateScope = `plugin:${component}`
  const label = kind.charAt(0).toUpperCase() + kind.slice(1)
  const Ignored = ignoredEvent(kind)
  const replies = new Set<Promise<unknown>>()
  const closers: (() => void)[] = []
  let stopping = false

  /** Endpoints by scope: serving the same bot again (a reconnect) gives the endpoint it already has. */
  const endpoints = new Map<string, ChannelEndpoint>()
  let listening: ReturnType<typeof createListener> | null = null
  const listener = () => (listening ??= createListener(gw.config))

  function serve<Ref>(options: ChannelServeOptions<Ref>): ChannelEndpoint {
    /** The platform's scope as this instance keys it. */
    const base = component === kind ? options.scope : `${component}/${options.scope}`
    const scope = `${kind}:${base}`
    const existing = endpoints.get(scope)
    if (existing) return existing
    const inbox = host.inbox(scope)
    const pairing = host.pairing(scope)
    const messageChars = options.messageChars ?? 2000
    const policy: AccessPolicy = {
      allowedUsers: options.access.allowedUsers,
      pairing: options.access.pairing,
      groups: options.access.groups ?? { enabled: false, allowed: [], members: "allowed" },
    }
    /**
     * The policy a message is judged by: a group message from a space listed in `groups.spaces` by that
     * space's entry (its groups, every group of it when none are listed, and its members rule).
     */
    const policyFor = (message: ChannelMessage): AccessPolicy => {
      const space =
        message.place === "group" && message.space !== undefined
          ? options.access.groups?.spaces?.find((candidate) => candidate.id === message.space)
          : undefined
      if (!space) return policy
      const every = space.groups.length === 0 && message.group !== undefined
      return {
        ...policy,
        groups: {
          enabled: policy.groups.enabled,
          allowed: every ? [message.group!] : space.groups,
          members: space.members,
        },
      }
    }
    const approved = (userId: string) => pairing.approved(userId)
    /** The host's conversation (sessions' channelKey) of a platform conversation, and back. */
    const keyOf = (conversation: string) => `${base}:${conversation}`
    const conversationOf = (key: string) => (key.startsWith(`${base}:`) ? key.slice(base.length + 1) : null)
    const pacers = new Map<string, Pacer>()
    const pacer = (conversation: string) => {
      let found = pacers.get(conversation)
      if (!found) {
        found = createPacer(options.surface(conversation).limits.editIntervalMs)
        pacers.set(conversation, found)
      }
      return found
    }
    const say = async (conversation: string, text: string) => {
      for (const piece of pieces(text, messageChars))
        await pacer(conversation).run(() => options.post(conversation, piece))
    }
    const pairingSent = new Map<string, number>()

    const offerPairing = async (message: ChannelMessage) => {
      const issued = await pairing.request({
        userId: message.user.id,
        conversation: message.conversation,
        name: message.user.name,
      })
      if (!issued) return log.warn("pairing refused: too many codes for this user", { user: message.user.id })
      const last = pairingSent.get(message.user.id) ?? 0
      if (!issued.created && Date.now() - last < 60_000) return
      pairingSent.set(message.user.id, Date.now())
      await say(
        message.conversation,
        `I don't know you yet. Ask the owner to approve this code: ${issued.code}\n(drost pairing approve ${issued.code}; it expires in 15 minutes)`,
      )
    }

    /** Also say the answer, after its text; a failure is a short note, the text stands. */
    const speakAnswer = async (conversation: string, text: string) => {
      try {
        const audio = await listener().speak(text)
        if (!audio) return log.info("answer not spoken: no words, or longer than voice.speak.maxChars")
        await pacer(conversation).run(async () => void (await options.postVoice!(conversation, audio)))
      } catch (error) {
        log.warn("spoken reply failed", { error: String(error) })
        await say(conversation, `🔇 No spoken reply: ${(error as Error).message}`).catch(() => {})
      }
    }

    const converse = async (message: ChannelMessage, heard?: string) => {
      if (!hasContent(message)) return await inbox.done([message.eventId])
      // Attachments are read or fetched now: an allowed user, in the conversation's lane.
      const input = await attachments(message, options.fetch?.bind(options))
      const text = heard ? [input.text, heard].filter(Boolean).join("\n\n") : input.text
      const images = input.images
      if (!text.trim() && !images.length) return await inbox.done([message.eventId])
      const key = keyOf(message.conversation)
      const sessionId = await host.sessionFor(key, message.title ?? `${label}: @${message.user.name}`)
      // A full queue is answered with the reason by the streamer (host.accept marks the event done); while
      // the gateway stops, the message stays in the inbox (the rejection) for the next run.
      let reply: Promise<unknown> = streamReply(
        {
          bus: gw.bus,
          surface: options.surface(message.conversation),
          pacer: pacer(message.conversation),
          log,
          conversation: key,
          replyTo: message.place === "group" ? message.replyTo : undefined,
        },
        sessionId,
        () => host.accept(inbox, [message.eventId], { sessionId, text, images }),
      )
      if (options.postVoice && listener().speaks(heard !== undefined))
        reply = (reply as Promise<Answered | null>).then(async (answered) => {
          if (answered) await speakAnswer(message.conversation, answered.text)
        })
      // queue: the lane holds the conversation's next message until this answer is sent (a crash leaves it
      // in the inbox, not as a queued turn); interrupt and collect need the next message to reach the session.
      if (host.laneMode() === "queue") return void (await reply)
      const tracked = reply.catch((error) => log.error("streaming an answer failed", { key, error: String(error) }))
      replies.add(tracked)
      void tracked.finally(() => replies.delete(tracked))
    }

    const handle = async (message: ChannelMessage) => {
      if (stopping) return // left in the inbox: the next run handles it
      try {
        const verdict = await judgeAccess(policyFor(message), message, approved)
        if (verdict.kind === "ignore") {
          log.debug("message ignored", { user: message.user.id, reason: verdict.reason })
          gw.bus.publish(Ignored, {
            scope: options.scope,
            userId: message.user.id,
            conversation: message.conversation,
            reason: verdict.reason,
          })
          return await inbox.done([message.eventId])
        }
        if (verdict.kind === "pair") {
          await offerPairing(message)
          return await inbox.done([message.eventId])
        }
        const line = message.text.trim()
        const reply = line.startsWith("/") ? await host.commandIn(keyOf(message.conversation), line) : null
        if (reply) {
          await say(message.conversation, reply.text)
          return await inbox.done([message.eventId])
        }
        if (message.voice) {
          // A voice note: transcribed (or the reason why not) before anything reaches the agent.
          const heard = await listener().listen(message.voice, options.fetch?.bind(options))
          if ("refusal" in heard) {
            await say(message.conversation, heard.refusal)
            return await inbox.done([message.eventId])
          }
          await say(message.conversation, `🎤 ${heard.text}`)
          return await converse(message, heard.text)
        }
        await converse(message)
      } catch (error) {
        if (stopping) return
        log.error("handling a message failed", { event: message.eventId, error: String(error) })
        await inbox
          .done([message.eventId])
          .catch((error) =>
            log.warn("could not mark a message handled", { event: message.eventId, error: String(error) }),
          )
        await say(message.conversation, `⚠️ Sorry, that did not work. Error id: ${kind}:${message.eventId}`).catch(
          () => {},
        )
      }
    }

    const dispatch = (message: ChannelMessage) => {
      // A command skips the conversation's lane: /stop must reach the turn that holds it.
      if (message.text.trim().startsWith("/")) void handle(message)
      else void host.lane(keyOf(message.conversation), () => handle(message))
    }
    /** Messages handed on in the order the plugin received them, what a previous run left first. */
    const arrivals = createArrivals<ChannelMessage>((message) => {
      if (!stopping) dispatch(message)
    })

    const surface = options.approvals
    const relay = surface
      ? createApprovalRelay<Ref>({
          gw,
          kind,
          log,
          conversationOf,
          allowed: (userId) => isAllowed(policy, userId, approved),
          surface: {
            show(conversation, pending) {
              const { tool, args, deadline } = describeApproval(pending)
              return surface.show(conversation, pending, `🔐 Approval needed: ${tool}\n${args}\n${deadline}`)
            },
            settle: (ref, decided) => surface.settle(ref, decided, outcomeLabel(decided, kind)),
          },
        })
      : null
    relay?.start()
    registerChannelDelivery(gw, {
      component,
      kind,
      conversationOf,
      limit: messageChars,
      post: (conversation, text) => pacer(conversation).run(async () => void (await options.post(conversation, text))),
    })
    // Tell people approved with `drost pairing approve` (another process) that they can talk now.
    const notify = async () => {
      for (const approval of await pairing.unnotified()) {
        await pairing.notified(approval.code)
        void say(approval.conversation, "✅ You're approved: you can talk to me now.").catch((error) =>
          log.warn("could not tell an approved user", { user: approval.userId, error: String(error) }),
        )
      }
    }
    const notifier = setInterval(
      () => void notify().catch((error) => log.warn("could not read approved pairings", { error: String(error) })),
      NOTIFY_EVERY_MS,
    )
    closers.push(
      () => clearInterval(notifier),
      () => relay?.stop(),
    )

    // What a previous run received and did not finish, first (before anything received from now on).
    void arrivals
      .replay(
        inbox
          .pending()
          .then((entries) => entries.map((entry) => ({ id: entry.eventId, event: entry.payload as ChannelMessage }))),
      )
      .then(
        (count) => count && log.info("handling messages a previous run received but did not finish", { count }),
        (error) => log.error("could not read the messages a previous run left", { error: String(error) }),
      )

    const endpoint: ChannelEndpoint = {
      receive(message: ChannelMessage) {
        const stored = storable(message)
        return arrivals.receive(message.eventId, inbox.receive(message.eventId, stored), stored)
      },
      async command(input: { conversation: string; userId: string; line: string }) {
        if (!(await isAllowed(policy, input.userId, approved)))
          return { text: "You may not use this bot here.", listing: false, refused: true }
        const reply = await host.commandIn(keyOf(input.conversation), input.line.trim())
        return reply ? { text: reply.text, listing: reply.listing === true, refused: false } : null
      },
      async press(input: { data: string; userId: string; conversation: string; label?: string }) {
        const parsed = parseApprovalData(input.data)
        if (!relay || !parsed) return { decided: false, refused: false, text: "This approval is no longer waiting." }
        return await relay.press({
          approvalId: parsed.approvalId,
          choice: parsed.choice,
          userId: input.userId,
          conversation: input.conversation,
          label: input.label ?? `${label} user ${input.userId}`,
        })
      },
    }
    endpoints.set(scope, endpoint)
    return endpoint
  }

  return {
    host: {
      kind,
      send: host.send,
      command: host.command,
      health: host.health,
      serve,
      state: {
        get: async <T>(key: string) => (await store.stateGet(stateScope, key)) as T | undefined,
        set: (key, value) => store.stateSet(stateScope, key, value),
      },
      commandMenu: host.commandMenu,
      approvalButtons,
    },
    async close(graceMs) {
      stopping = true
      for (const close of closers.splice(0)) close()
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.allSettled([...host.pending(), ...replies]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ])
      clearTimeout(timer)
    },
  }
}
