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
  /** Lowercase letters, digits and `-`; the channel name sessions and commands see. */
  name: string
  start(context: PluginChannelContext<Config>): { stop(): unknown } | Promise<{ stop(): unknown }>
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
