/**
 * The channel contract: what every chat front end (Telegram, Discord, Slack, the web chat, a plugin's
 * bridge) does, in the same order, with the same guarantees. docs/channels.md explains it in prose.
 *
 *   platform event ─▶ inbox.receive (durable, before the platform is acknowledged)
 *                  ─▶ normalise to an InboundMessage
 *                  ─▶ access.judge: allow / pair (a one-time code) / ignore (0 provider requests)
 *                  ─▶ a command?  answered at once, outside the conversation's lane
 *                  ─▶ lane(conversation): queue / interrupt / collect (orchestration config)
 *                  ─▶ accept: the user message made durable and the event marked done in ONE transaction
 *                  ─▶ streamReply(surface): typing, paced edits within the platform's limits, one final
 *                     answer rendered in the platform's format, or one short message with an error id
 *   schedules, background jobs ─▶ registerDelivery(sender + locator) ─▶ the conversation they belong to
 *   approvals  ─▶ buttons in the conversation that owns the session; a press decides only for an allowed user
 *   health     ─▶ host.health(problem): the gateway is `degraded` with "<component>: <problem>"; nothing else stops
 *
 * Shared building blocks implement each step (src/channels/*.ts); a channel supplies only what is
 * platform-specific: its connection, the normalisation, a ReplySurface and its button rendering.
 *
 * Plugins: a plugin's channel gets a PluginChannelHost (src/sdk/plugin.ts, the plugin-facing copy of
 * these types) whose `serve` runs this whole path on the same blocks (plugin-host.ts); its start/stop is
 * a ChannelRuntime's. docs/channels.md#a-channel-as-a-plugin.
 *
 * Shape stability: helpers build channels on these types in parallel. Add optional members only.
 */
import type { Choice, Decided, Pending } from "../approval/approval.ts"
import type { CommandReply } from "../gateway/commands.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { PluginChannelContext } from "../sdk/plugin.ts"
import type { TurnResult } from "../agent/session.ts"

// ───────────────────────────── inbound ─────────────────────────────

/** An image as the agent receives it (base64, like the Control API's turn input). */
export interface InboundImage {
  mediaType: string
  data: string
}

/** A file that is not an image: offered to the agent by name (and text, when it is text). */
export interface InboundFile {
  name: string
  mediaType: string
  bytes: number
  /** Fetches the content (platform CDN, with the channel's credentials); called only for allowed users. */
  fetch(): Promise<Uint8Array>
}

/** A voice note or audio message: transcribed into the user's text (voice.ts does it for Telegram). */
export interface InboundVoice {
  mediaType: string
  durationSec: number
  bytes: number
  fetch(): Promise<Uint8Array>
}

/** Where a message was written. */
export type Place = "dm" | "group"

/** One user message, normalised from the platform's event. Ids are strings on every platform. */
export interface InboundMessage {
  /** The platform's id for this event (update id, message id, envelope id): the inbox key. */
  eventId: string
  /**
   * The conversation: a DM, a group chat, or a thread in a channel. One conversation maps to one
   * session (threads as sessions); it is also where answers, deliveries and approval buttons go.
   */
  conversation: string
  user: { id: string; name: string; bot?: boolean }
  place: Place
  /** The group (chat, guild channel, Slack channel) a group message came from: the group allow-list key. */
  group?: string
  /** In a group: the bot was mentioned or replied to. Always true in a DM. */
  addressed: boolean
  /** The text without the bot's mention; a caption for media. */
  text: string
  images?: InboundImage[]
  files?: InboundFile[]
  voice?: InboundVoice
  /** The platform message to attach the answer to (groups), if any. */
  replyTo?: string
}

// ───────────────────────────── durable inbox ─────────────────────────────

/**
 * At-most-once processing across kill -9. `receive` runs before the platform is acknowledged (or before
 * its offset / sequence advances); `done` runs in the same transaction that makes the user message
 * durable (`accept`), or after a command's or refusal's answer was sent. After a restart, `pending()`
 * is handled again first; an event received twice (a platform redelivery, a resumed gateway session)
 * is refused by `receive`, so nothing is answered twice and nothing is lost.
 */
export interface ChannelInbox {
  /** Store an event; false when this event id was received before (drop it). */
  receive(eventId: string, payload: unknown): Promise<boolean>
  /** Events received and not done, oldest first. */
  pending(): Promise<{ eventId: string; payload: unknown }[]>
  /** Mark events handled (kept as seen for a while, so redeliveries are still refused). */
  done(eventIds: string[]): Promise<void>
  /** Its scope in the store (`<kind>:<bot id>`): `accept` marks its events handled with the user message. */
  readonly scope: string
}

// ───────────────────────────── access ─────────────────────────────

/** Who may reach the agent through one channel instance. Ids as strings. */
export interface AccessPolicy {
  allowedUsers: readonly string[]
  /** A stranger in a DM gets a one-time code the owner approves (`drost <kind> approve <code>`). */
  pairing: boolean
  groups: {
    enabled: boolean
    /** Group ids (chats, guild channels, Slack channels) the bot may answer in. */
    allowed: readonly string[]
    /** "allowed": only allowed users in a group; "all": any member of an allowed group. */
    members: "allowed" | "all"
  }
}

export type Verdict = { kind: "allow" } | { kind: "pair" } | { kind: "ignore"; reason: string }

export interface PairingStore {
  /** Users approved through pairing (besides allowedUsers). */
  approved(userId: string): Promise<boolean>
  /** A code for this user (an open one again, or a new one); null when the user was issued too many. */
  request(input: { userId: string; conversation: string; name: string }): Promise<{
    code: string
    created: boolean
    expiresAt: number
  } | null>
}

// ───────────────────────────── replies ─────────────────────────────

/** The platform's limits the reply streamer keeps to. */
export interface ChannelLimits {
  /** Longest message the platform accepts, in characters of the formatted text (Telegram 4,096, Discord 2,000). */
  messageChars: number
  /** Least gap between two sends or edits in one conversation (the platform's rate limit). */
  editIntervalMs: number
  /** How Markdown is rendered for the platform. */
  format: "telegram-html" | "discord-markdown" | "slack-mrkdwn" | "html" | "plain"
  /** Whether messages can be edited (streaming by edits); without it only the final answer is posted. */
  edits: boolean
}

/** One step of a turn's answer as the user sees it: text, and compact tool lines instead of tool JSON. */
export type ReplyItem =
  | { kind: "text"; text: string }
  | { kind: "tool"; name: string; state: "running" | "ok" | "error" }

/** A message ready to post: in the platform's format, and as plain text for a fallback. */
export interface RenderedChunk {
  formatted: string
  plain: string
}

/** A message the surface posted. */
export interface PostedMessage {
  id: string
}

/** Why a send or edit failed, as far as the streamer cares. */
export type SurfaceFailure = "not-modified" | "format-rejected" | "missing" | "other"

/**
 * One conversation's output, as the shared streamer (stream.ts) drives it. Every call is already
 * paced by the streamer (one per `limits.editIntervalMs`); 429s are the surface's to honour.
 */
export interface ReplySurface {
  readonly limits: ChannelLimits
  /** Post a message; `formatted: false` posts `chunk.plain` without markup. */
  post(chunk: RenderedChunk, options: { formatted: boolean; replyTo?: string }): Promise<PostedMessage>
  /** Replace a posted message's content. */
  edit(message: PostedMessage, chunk: RenderedChunk, options: { formatted: boolean }): Promise<void>
  /** Show that the agent is working (Telegram's typing action). Optional. */
  typing?(): Promise<void>
  /** The final answer: items rendered and split into chunks within `limits.messageChars`. */
  render(items: ReplyItem[], note?: string): RenderedChunk[]
  /** Classify a failed post or edit. */
  classify(error: unknown): SurfaceFailure
  /** Escape plain text for the format (a failure message with an error id); identity when absent. */
  escape?(text: string): string
}

/** A completed answer a reply delivered: its Markdown text (tool lines aside). */
export interface Answered {
  result: TurnResult
  text: string
}

// ───────────────────────────── approvals ─────────────────────────────

/** How a channel shows approval buttons; the relay (approvals.ts) decides where and when. */
export interface ApprovalSurface<Ref = unknown> {
  /** Post the request with buttons (Approve / Deny / Allow for this session) in the conversation. */
  show(conversation: string, pending: Pending): Promise<Ref>
  /** Replace the buttons by one that shows the decision. */
  settle(ref: Ref, decided: Decided): Promise<void>
}

/** What a button press carries, once the channel parsed it. */
export interface ApprovalPress {
  approvalId: string
  choice: Choice
  userId: string
  conversation: string
}

// ───────────────────────────── the host ─────────────────────────────

/**
 * What a running channel may ask of the gateway (created per channel instance by host.ts). It is a
 * PluginChannelContext (send, command, config, log) plus the building blocks of the contract.
 */
export interface ChannelHost<Config = unknown> extends PluginChannelContext<Config> {
  /** The session channel ("telegram", "discord", "slack"): sessions, commands and lanes see it. */
  readonly kind: string
  /** This instance's name ("discord", "discord#2"): health reasons, logs, deliveries. */
  readonly component: string
  /** The gateway is `degraded` with "<component>: <problem>" until cleared with null. */
  health(problem: string | null): void
  /** The durable inbox of this instance (scope: the kind and the platform's bot/app id). */
  inbox(scope: string): ChannelInbox
  /** The session a conversation talks to, created on first use (title: how /sessions shows it). */
  sessionFor(conversation: string, title: string): Promise<string>
  /** The conversation's current session, if it still exists (commands use it). */
  currentSession(conversation: string): Promise<string | null>
  /** Work of one conversation runs in order. */
  lane<T>(conversation: string, fn: () => Promise<T>): Promise<T>
  /** The lane mode the orchestration config gives this channel. */
  laneMode(): "queue" | "interrupt" | "collect"
  /** A slash command typed in a conversation; null when `line` is not one. Never queues behind a turn. */
  commandIn(conversation: string, line: string): Promise<CommandReply | null>
  /** The commands to register with the platform (menu, slash commands). */
  commandMenu(): { name: string; usage: string; help: string }[]
}

// ───────────────────────────── a channel ─────────────────────────────

/** A running channel instance. start() never throws: problems go to health. */
export interface ChannelRuntime {
  readonly component: string
  start(): void
  /** Stop taking events; let answers being streamed finish within `graceMs`. */
  stop(graceMs: number): Promise<void>
}

/** A live check for `drost setup` (Telegram: getMe): who the credentials are, or why they do not work. */
export type LiveCheck = { ok: true; identity: string } | { ok: false; problem: string }

/** One kind of channel: what src/channels/registry.ts lists by config `kind`. */
export interface ChannelDefinition<Config = unknown> {
  kind: string
  /** Create an instance for one config entry; `component` is its name (`<kind>` or `<kind>#<n>`). */
  create(gw: Gateway, config: Config, component: string): ChannelRuntime
  /** Register schedule/background delivery for the instance (also without the channel running). */
  registerDelivery?(gw: Gateway, config: Config, component: string): void
  /** `drost setup`'s live check of the credentials. */
  check?(config: Config, stateDir: string): Promise<LiveCheck>
}

export type { Choice, Decided, Pending }
