/**
 * The `drost` module that workspace tools and `drost.config.ts` import (also under the name
 * `@drost/core`). The runtime registers it as a virtual module, so a workspace needs no install.
 *
 * Web-standard only: no `Bun.*`, no `Deno.*`, no `node:*`. The same tool file runs under the Bun
 * gateway and under `deno run` / `deno check` with an import map `{ "drost": "<path>/src/sdk/mod.ts" }`
 * (or the workspace's `node_modules/drost` copy, see docs/tools.md).
 */
// The plain-TypeScript copy of the configuration's type, not core/config.ts (TypeBox): the SDK's types
// must check with Deno (`deno check`, offline, no TypeBox types) as well as with tsc.
import type { ConfigInput } from "./config-input.ts"
import type { PluginDefinition } from "./plugin.ts"

export type {
  ChannelAccess,
  ChannelApproval,
  ChannelApprovalSurface,
  ChannelAttachment,
  ChannelButton,
  ChannelCheck,
  ChannelChunk,
  ChannelDecision,
  ChannelEndpoint,
  ChannelFile,
  ChannelImage,
  ChannelLimits,
  ChannelMessage,
  ChannelReplyItem,
  ChannelReplySurface,
  ChannelServeOptions,
  ChannelSpace,
  ChannelState,
  ChannelVoice,
  ModelEvent,
  ModelMessage,
  ModelPart,
  ModelProvider,
  ModelRequest,
  ModelUsage,
  PluginChannel,
  PluginChannelContext,
  PluginChannelHost,
  PluginCommand,
  PluginCommandContext,
  PluginDefinition,
  PluginProfile,
  PluginProvider,
  PluginRoute,
} from "./plugin.ts"
export type { ConfigInput }

export const version = "0.1.0"

/** JSON Schema of a tool's arguments (a TypeBox schema is one too). */
export type JsonSchema = {
  type?: string
  properties?: Record<string, unknown>
  required?: string[]
  [key: string]: unknown
}

export interface ToolLogger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** What a tool receives besides its arguments. */
export interface ToolContext {
  sessionId: string
  turnId: string
  callId: string
  /** Absolute paths of the workspace and its well-known folders. */
  workspace: { root: string; tools: string; memory: string; prompts: string }
  /** Aborted when the turn is aborted or the tool times out. */
  signal: AbortSignal
  log: ToolLogger
}

/**
 * Deno's permission vocabulary. `true` grants the whole class; a list grants those paths (relative to
 * the workspace), hosts (`host` or `host:port`), programs or variable names. Applied when the tool
 * runs in the Deno sandbox; anything not granted is denied.
 */
export interface ToolPermissions {
  read?: boolean | string[]
  write?: boolean | string[]
  net?: boolean | string[]
  run?: boolean | string[]
  env?: boolean | string[]
}

export interface ToolDefinition<Args = Record<string, unknown>> {
  /** Letters, digits, `_`, `-` and `.`; unique across built-in and workspace tools. */
  name: string
  description: string
  parameters: JsonSchema
  /** What the tool may do when sandboxed (Deno's vocabulary). Default: nothing. */
  permissions?: ToolPermissions
  /** `"deno"` runs each call in `deno run` with exactly `permissions`; default: the workspace's `tools.sandbox`. */
  sandbox?: "deno" | "none"
  /** Per-tool timeout in ms (default: the gateway's `agent.toolTimeoutMs`). */
  timeoutMs?: number
  /** A string is passed to the model as is; anything else is sent as JSON. A throw becomes an error result. */
  execute(args: Args, context: ToolContext): unknown | Promise<unknown>
}

export function defineTool<Args = Record<string, unknown>>(definition: ToolDefinition<Args>): ToolDefinition<Args> {
  return definition
}

/** Types `drost.config.ts`; the runtime validates the value itself. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config
}

/** Types a plugin package's default export (docs/plugins.md); the runtime checks the value itself. */
export function definePlugin<Config = unknown>(definition: PluginDefinition<Config>): PluginDefinition<Config> {
  return definition
}
