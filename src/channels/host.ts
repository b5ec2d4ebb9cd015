/**
 * The ChannelHost (contract.ts) of one channel instance: what a channel built on the contract asks of
 * the gateway, assembled from the shared blocks. It is a PluginChannelContext (send, command, config,
 * log, as src/gateway/plugins.ts gives plugins) plus health, the durable inbox, conversation → session
 * mapping, lanes, the orchestration lane mode, commands that never queue behind a turn, the command
 * menu, pairing, `accept` (the user message and the inbox in one transaction) and `stream` (the reply).
 *
 * Conversations are the channel's own ids; make them unique across every instance of the kind (prefix
 * the bot or app id: `<botId>:<channelId>`), since sessions carry them as `channelKey` and deliveries
 * and approvals find the instance by that prefix.
 */
import type { Accepted } from "../agent/session.ts"
import { dispatch } from "../gateway/commands.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { channelContext } from "../gateway/plugins.ts"
import { Log } from "../util/log.ts"
import type { Answered, ChannelHost, ChannelInbox, InboundImage, PairingStore, ReplySurface } from "./contract.ts"
import { commandMenu } from "./commands.ts"
import { createLanes, laneMode } from "./lane.ts"
import { createPacers, type Pacer } from "./pacer.ts"
import { streamReply, submit } from "./stream.ts"

export interface Host<Config> extends ChannelHost<Config> {
  /** Pairing codes and approvals of one scope (`<kind>:<bot id>`). */
  pairing(scope: string): PairingStore & {
    unnotified(): Promise<{ code: string; userId: string; conversation: string }[]>
    notified(code: string): Promise<void>
  }
  /**
   * Make a user message durable and mark its inbox events done in ONE transaction; the turn starts (or
   * queues) as the session's orchestration says. Rejects with Refused (stream.ts; its events done) when
   * the session's queue is full, with AlreadyAccepted when another gateway took the events first.
   */
  accept(
    inbox: ChannelInbox,
    eventIds: string[],
    input: { sessionId: string; text: string; images?: InboundImage[] },
  ): Promise<Accepted>
  /** Stream the answer of what `submit` accepts into a conversation, paced by its pacer. */
  stream(input: {
    surface: ReplySurface
    conversation: string
    sessionId: string
    submit: () => Promise<Accepted>
    replyTo?: string
  }): Promise<Answered | null>
  /** The conversation's pacer (ChannelLimits.editIntervalMs): every write of the channel goes through it. */
  pacer(conversation: string): Pacer
  /** Work queued or running in lanes (stop() waits for it within its grace period). */
  pending(): Promise<unknown>[]
}

export function createChannelHost<Config>(
  gw: Gateway,
  input: { kind: string; component: string; config: Config; editIntervalMs: number },
): Host<Config> {
  const { kind, component } = input
  const log = Log.create(component)
  // The store contract (either engine): what another gateway on the same store wrote is read here too.
  const store = gw.data.channels
  const lanes = createLanes<string>(log)
  const pacers = createPacers<string>(input.editIntervalMs)
  const context = channelContext(gw, kind)

  const currentSession = async (conversation: string): Promise<string | null> => {
    const known = await store.session(kind, conversation)
    return known && (await gw.data.sessions.get(known)) ? known : null
  }

  return {
    kind,
    component,
    config: input.config,
    log,
    send: context.send,
    command: context.command,
    health: (problem) => gw.setHealth(component, problem),
    inbox(scope) {
      return {
        receive: (eventId, payload) => store.receive(scope, eventId, payload),
        pending: () => store.pending(scope),
        done: (eventIds) => store.done(scope, eventIds),
        scope,
      }
    },
    async sessionFor(conversation, title) {
      const known = await currentSession(conversation)
      if (known) return known
      const session = await gw.sessions.create({ channel: kind, channelKey: conversation, title })
      await store.setSession(kind, conversation, session.id)
      return session.id
    },
    currentSession,
    lane: (conversation, fn) => lanes.run(conversation, fn),
    laneMode: () => laneMode(gw.config, kind),
    commandIn: async (conversation, line) =>
      dispatch(
        gw,
        {
          channel: kind,
          sessionId: await currentSession(conversation),
          setSession: (id) => store.setSession(kind, conversation, id),
        },
        line,
      ),
    commandMenu: () => commandMenu(gw),
    pairing(scope) {
      return {
        approved: (userId) => store.approved(scope, userId),
        async request(request) {
          const result = await store.pairingFor({ scope, ...request })
          return result
            ? { code: result.pairing.code, created: result.created, expiresAt: result.pairing.expiresAt }
            : null
        },
        unnotified: () => store.unnotified(scope),
        notified: (code) => store.notified(code),
      }
    },
    accept(inbox, eventIds, message) {
      return submit(
        () =>
          gw.sessions.prompt({
            sessionId: message.sessionId,
            text: message.text,
            images: message.images ?? [],
            source: kind,
            accept: { channel: { scope: inbox.scope, eventIds } },
          }),
        () => inbox.done(eventIds),
        () => gw.state().state === "stopping",
      )
    },
    stream: ({ surface, conversation, sessionId, submit, replyTo }) =>
      streamReply({ bus: gw.bus, surface, pacer: pacers(conversation), log, conversation, replyTo }, sessionId, submit),
    pacer: (conversation) => pacers(conversation),
    pending: () => lanes.pending(),
  }
}
