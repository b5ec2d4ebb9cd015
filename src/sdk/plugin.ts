/**
 * The plugin contract of the `drost` module: `definePlugin({ name, version, config?, tools?,
 * providers?, commands?, routes?, channels? })` in a package's entry file (docs/plugins.md).
 *
 * Plain TypeScript with no imports beyond the SDK itself, so it checks under Deno as well as tsc. The
 * model types mirror src/core/provider.ts and src/core/message.ts structurally: one of Drost's own
 * providers is a `ModelProvider` as it is (test/plugins/demo-plugin.ts shows it with tsc).
 */
import type { JsonSchema, ToolDefinition, ToolLogger } from "./mod.ts"

/** One part of a stored message, as every provider adapter receives it. */
export type ModelPart =
  | { type: "text"; text: string }
  | { type: "image"; mediaType: string; data: string }
  | { type: "reasoning"; text: string }
  | { type: "tool-call"; id: string; name: string; args: unknown }
  | { type: "tool-result"; callId: string; name: string; output: string; isError: boolean }

export interface ModelMessage {
  role: "user" | "assistant" | "tool" | "system"
  parts: ModelPart[]
}

export interface ModelUsage {
  input: number
  output: number
  cached: number
}

/** One model call: the system prompt, the history, the tools on offer. */
export interface ModelRequest {
  system: string
  messages: ModelMessage[]
  tools: { name: string; description: string; parameters: Record<string, unknown> }[]
  sessionId: string
  /** Generation settings a client asked for (maxTokens, temperature, …); an adapter sends those it has. */
  options?: Record<string, unknown>
}

export type ModelFailure =
  | "auth"
  | "rate_limit"
  | "server"
  | "timeout"
  | "network"
  | "stream"
  | "unavailable"
  | "invalid"
  | "overload"
  | "aborted"
  | "unknown"

/**
 * What a provider streams. It ends with exactly one `done` or `error`; the runtime adds an `error`
 * when a plugin's stream throws or stops without one. `attempt` events are the failover router's own.
 */
export type ModelEvent =
  | { type: "text"; delta: string }
  | { type: "reasoning"; delta: string }
  | { type: "tool-call"; id: string; name: string; args: string }
  | { type: "usage"; usage: ModelUsage }
  | { type: "done"; stop: "stop" | "tool_calls" | "length" | "aborted" }
  | { type: "error"; kind: ModelFailure; message: string; status?: number; retryAfterMs?: number }
  | { type: "attempt"; provider: string; model: string; attempt: number }
  | {
      type: "attempt-failed"
      provider: string
      model: string
      kind: ModelFailure
      message: string
      status?: number
      cooldownMs: number
      partial: boolean
      retryInMs?: number
    }

export interface ModelProvider {
  readonly id: string
  readonly kind: string
  readonly model: string
  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent>
}

/** The provider profile that names the plugin (`kind: "plugin"`), as the owner configured it. */
export interface PluginProfile {
  id: string
  kind: string
  model?: string
  baseUrl?: string
  maxTokens?: number
  [key: string]: unknown
}

/** A provider kind: profiles with `kind: "plugin", plugin: "<package>"` (or `"<package>:<name>"`) use it. */
export interface PluginProvider<Config = unknown> {
  name: string
  create(context: { profile: PluginProfile; config: Config; log: ToolLogger }): ModelProvider
}

export interface PluginCommandContext<Config = unknown> {
  /** Where the command was typed: `terminal`, `telegram`, `api`, … */
  channel: string
  sessionId: string | null
  config: Config
  log: ToolLogger
}

/** A slash command (`/<name>`), answered on every surface like the built-in ones. */
export interface PluginCommand<Config = unknown> {
  /** Lowercase letters only; may not shadow a built-in command. */
  name: string
  usage?: string
  help: string
  /** A string is the answer; `{ text, listing: true }` keeps its columns. A throw answers with its message. */
  run(
    arg: string,
    context: PluginCommandContext<Config>,
  ): string | { text: string; listing?: boolean } | Promise<string | { text: string; listing?: boolean }>
}

/** An HTTP route under `/control/v1/plugins/<package>/`, behind the Control API's bearer token. */
export interface PluginRoute<Config = unknown> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  /** Below the plugin's prefix, starting with `/` (`/hello` → `/control/v1/plugins/<package>/hello`). */
  path: string
  handler(request: Request, context: { config: Config; log: ToolLogger }): Response | Promise<Response>
}

/** What a running plugin channel may ask of the gateway. */
export interface PluginChannelContext<Config = unknown> {
  config: Config
  log: ToolLogger
  /** Run one turn in a session (a new one, on the default provider, when `sessionId` is absent) and return its answer. */
  send(input: { text: string; sessionId?: string }): Promise<{ sessionId: string; text: string }>
  /** Run a slash command as this channel; null when `line` is not one. */
  command(line: string, sessionId?: string | null): Promise<{ text: string; sessionId: string | null } | null>
}

/** A front end (a chat network, a bridge): started after the gateway is up, stopped before it stops. */
export interface PluginChannel<Config = unknown> {
  /**
   * Lowercase letters, digits and `-`: the channel's kind, as sessions, commands, health (`<name>: …`),
   * events (`<name>.message.ignored`), approvals (`by: "<name>:<user>"`) and deliveries see it.
   */
  name: string
  /**
   * The context is the channel host: `send` and `command` for a simple bridge, and `serve(…)` for a chat
   * platform hosted like the built-in channels (docs/channels.md). `stop(graceMs)` may let answers being
   * streamed finish within `graceMs`.
   */
  start(
    context: PluginChannelHost<Config>,
  ): { stop(graceMs?: number): unknown } | Promise<{ stop(graceMs?: number): unknown }>
  /**
   * JSON Schema of one instance's settings: a `channels` entry `{ kind: "<name>", …settings }` (each
   * entry is an instance, `<name>`, `<name>#2`, … with its own scope, access and pairing). Without it,
   * entries are checked with the plugin's `config`. Without any entry of its kind, the channel runs
   * once with the plugin's `pluginConfig`.
   */
  config?: JsonSchema
  /**
   * A live check of one instance's settings for `drost setup` and `drost doctor` (Telegram's getMe):
   * who the credentials are, or why they do not work. It runs outside the gateway (no host), with the
   * settings checked and defaults filled in; a throw is a failed check with its message.
   */
  check?(context: { config: Config; log: ToolLogger }): ChannelCheck | Promise<ChannelCheck>
}

/** What a channel's live check found. */
export type ChannelCheck = { ok: true; identity: string } | { ok: false; problem: string }

// ───────────────────────────── the channel host ─────────────────────────────
// The channel contract (src/channels/contract.ts) as a plugin sees it: the plugin supplies the platform's
// connection, the normalisation of its events and the surfaces; the host does access, pairing, the
// durable inbox, lanes, commands, the reply stream, approvals, deliveries and health.

/**
 * An attachment's content, one of two ways: `data`, the bytes as base64, stored in the inbox with the
 * message (for small ones: inline data over `MAX_INLINE_BYTES`, 4 MiB, is dropped with a note); or `ref`,
 * the platform's durable id or URL of it, which the serve option `fetch` turns into bytes when the
 * message is handled (only for an allowed user; after a restart too, since the reference is what the
 * inbox stores). `bytes` is the size the platform states, if it does (checked before fetching).
 */
export interface ChannelAttachment {
  mediaType: string
  data?: string
  ref?: string
  bytes?: number
}

/** An image: an image part of the turn (like the Control API's image input). */
export interface ChannelImage extends ChannelAttachment {}

/** A file that is not an image: a text file's content goes into the user's text; any other is named there. */
export interface ChannelFile extends ChannelAttachment {
  name: string
}

/** A voice note or audio message: transcribed (`voice.transcribe`) into the user's text, shown back first. */
export interface ChannelVoice extends ChannelAttachment {
  durationSec: number
}

/** One user message, normalised from the platform's event. Ids are strings. */
export interface ChannelMessage {
  /** The platform's id of this event: the inbox key (a redelivery with the same id is dropped). */
  eventId: string
  /** The platform's conversation (a DM, a group, a thread): one session each; answers go there. */
  conversation: string
  user: { id: string; name: string; bot?: boolean }
  place: "dm" | "group"
  /** The group a group message came from (for a thread: the group it belongs to): the group allow-list key. */
  group?: string
  /** What contains the group (a Discord guild, a Slack workspace, a Matrix space): `groups.spaces` rules. */
  space?: string
  /** In a group: the bot was mentioned or replied to. */
  addressed: boolean
  /** The text without the bot's mention; a caption for attachments. */
  text: string
  images?: ChannelImage[]
  files?: ChannelFile[]
  voice?: ChannelVoice
  /** The platform message to attach the answer to (groups). */
  replyTo?: string
  /** How /sessions shows the conversation's session ("Loop: @alice"); default "<kind>: <user name>". */
  title?: string
}

/** Who may reach the agent through the channel (docs/channels.md: access check). */
export interface ChannelAccess {
  allowedUsers: readonly string[]
  /** A stranger in a DM gets a one-time code the owner approves with `drost pairing approve <code>`. */
  pairing: boolean
  groups?: {
    enabled: boolean
    /** Group ids the bot may answer in (addressed messages only). */
    allowed: readonly string[]
    /** "allowed": only allowed users in a group; "all": any member of an allowed group. */
    members: "allowed" | "all"
    /** Rules per space (a guild, a workspace): a group message from a listed space is judged by its entry. */
    spaces?: readonly ChannelSpace[]
  }
}

/** The groups of one space the bot answers in, and who (Discord's `guilds` entries, generalised). */
export interface ChannelSpace {
  id: string
  /** Groups of the space the bot answers in (a thread counts as its group); empty: every group of it. */
  groups: readonly string[]
  members: "allowed" | "all"
}

/** The platform's limits the reply streamer keeps to. */
export interface ChannelLimits {
  messageChars: number
  editIntervalMs: number
  format: "telegram-html" | "discord-markdown" | "slack-mrkdwn" | "html" | "plain"
  edits: boolean
}

export type ChannelReplyItem =
  | { kind: "text"; text: string }
  | { kind: "tool"; name: string; state: "running" | "ok" | "error" }

export interface ChannelChunk {
  formatted: string
  plain: string
}

/** One conversation's output; every call is already paced (one per `limits.editIntervalMs`). */
export interface ChannelReplySurface {
  readonly limits: ChannelLimits
  post(chunk: ChannelChunk, options: { formatted: boolean; replyTo?: string }): Promise<{ id: string }>
  edit(message: { id: string }, chunk: ChannelChunk, options: { formatted: boolean }): Promise<void>
  typing?(): Promise<void>
  /** The final answer in the platform's format, split within `limits.messageChars`. */
  render(items: ChannelReplyItem[], note?: string): ChannelChunk[]
  classify(error: unknown): "not-modified" | "format-rejected" | "missing" | "other"
  escape?(text: string): string
}

/** A tool call waiting for a person, as a channel shows it. */
export interface ChannelApproval {
  id: string
  tool: string
  args: unknown
  sessionId: string
  requestedAt: number
  expiresAt: number
}

/** How it was decided. */
export interface ChannelDecision {
  id: string
  approved: boolean
  decision: "approve" | "deny" | "session" | "timeout" | "aborted" | "restart"
  by: string
}

/** The buttons of a request: `data` is what a press carries back (`apr:<id>:<a|d|s>`). */
export type ChannelButton = { label: string; data: string; style: "approve" | "deny" }

export interface ChannelApprovalSurface<Ref = unknown> {
  /** Post the request with `host.approvalButtons(request.id)` in the conversation. */
  show(conversation: string, request: ChannelApproval, text: string): Promise<Ref>
  /** Replace the buttons by `outcome` (a label; pressing it changes nothing). */
  settle(ref: Ref, decision: ChannelDecision, outcome: { label: string; data: string }): Promise<void>
}

export interface ChannelServeOptions<Ref = unknown> {
  /** The bot's or app's id on the platform (never a token): keys the inbox, pairings and sessions. */
  scope: string
  access: ChannelAccess
  /** The reply surface of a conversation (the streamer drives it). */
  surface(conversation: string): ChannelReplySurface
  /** Post plain text (command answers, pairing codes, deliveries, failures), within the platform's length. */
  post(conversation: string, text: string): Promise<unknown>
  /** Longest plain message `post` takes (longer text is split); default 2,000. */
  messageChars?: number
  /** Buttons for approvals; without it approvals are decided elsewhere (terminal, Control API). */
  approvals?: ChannelApprovalSurface<Ref>
  /**
   * The bytes of an attachment given by `ref` (with the channel's credentials), at most `maxBytes` (throw
   * when it is larger; the message is answered without it). Called while a message is handled, only for
   * an allowed user. Without it, attachments by reference are left out with a note.
   */
  fetch?(ref: string, limits: { maxBytes: number; mediaType: string }): Promise<Uint8Array>
  /**
   * Post a spoken answer after its text (with `voice.speak`: `when: "voice"` for answers to voice notes,
   * `"always"` for every answer). Without it answers are text only.
   */
  postVoice?(conversation: string, audio: { bytes: Uint8Array; mediaType: string; fileName: string }): Promise<unknown>
}

/** What `serve` returns: the platform's events go in here. */
export interface ChannelEndpoint {
  /**
   * A user message. Call it BEFORE acknowledging the event to the platform: it is durable when the
   * promise resolves (await it). False when this event id was received before (acknowledge it and drop
   * it). Messages are handled in the order `receive` was called.
   */
  receive(message: ChannelMessage): Promise<boolean>
  /**
   * A slash command from the platform's own command UI (not a message), answered at once with the
   * conversation's session. Refused (no command run) for a user the access check does not allow; null
   * when `line` is not a command.
   */
  command(input: { conversation: string; userId: string; line: string }): Promise<{
    text: string
    listing: boolean
    refused: boolean
  } | null>
  /** An approval button press (its `data`); decides only for an allowed user in the session's conversation. */
  press(input: { data: string; userId: string; conversation: string; label?: string }): Promise<{
    decided: boolean
    refused: boolean
    text: string
  }>
}

/**
 * A channel instance's own durable values (a resume token, a cursor, the platform's session), kept in
 * the gateway's store across restarts and kill -9 (a `set` is durable when its promise resolves). Values are
 * JSON, at most 64 KiB each. Scoped to the instance (`loop`, `loop#2`): each has its own.
 */
export interface ChannelState {
  get<T = unknown>(key: string): Promise<T | undefined>
  /** Store `value` (JSON); `undefined` deletes the key. Durable when the promise resolves. */
  set(key: string, value: unknown): Promise<void>
}

/** What a plugin channel may ask of the gateway. */
export interface PluginChannelHost<Config = unknown> extends PluginChannelContext<Config> {
  /** The channel's kind (its `name`). */
  readonly kind: string
  /** Durable state of this channel instance. */
  readonly state: ChannelState
  /** The gateway is `degraded` with "<kind>: <problem>" until cleared with null (a bad token, an outage). */
  health(problem: string | null): void
  /**
   * Host a platform's conversations like a built-in channel; events the previous run left are handled
   * first. Serving the same `scope` again (after a reconnect) returns the endpoint it already has.
   */
  serve<Ref>(options: ChannelServeOptions<Ref>): ChannelEndpoint
  /** The commands to register with the platform (its menu, slash commands). */
  commandMenu(): { name: string; usage: string; help: string }[]
  /** The buttons of an approval request, in rows. */
  approvalButtons(approvalId: string): ChannelButton[][]
}

export interface PluginDefinition<Config = unknown> {
  /** The package's name as installed in node_modules and listed in the config's `plugins`. */
  name: string
  version: string
  description?: string
  /** JSON Schema (a TypeBox schema is one) of `pluginConfig["<name>"]`; checked, defaults filled in, before anything of the plugin runs. */
  config?: JsonSchema
  /** Run in the sandboxed tool host like workspace tools, never in the gateway. */
  // biome-ignore lint/suspicious/noExplicitAny: each tool has its own argument type
  tools?: ToolDefinition<any>[]
  providers?: PluginProvider<Config>[]
  commands?: PluginCommand<Config>[]
  routes?: PluginRoute<Config>[]
  channels?: PluginChannel<Config>[]
}
