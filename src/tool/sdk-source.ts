/**
 * The `drost` SDK as a standalone ES module text, built from the live module's exports. The Deno
 * sandbox maps `drost` to it with an import map, and `drost tool new` installs it as
 * `node_modules/drost` so a workspace's own `bun test` and editors resolve the import too. Works in
 * the compiled binary, where the SDK's source file is not on disk.
 */
import { ConfigSchema } from "../core/config.ts"
import * as sdk from "../sdk/mod.ts"
import { schemaType } from "./schema-type.ts"

/** The plugin contract (src/sdk/plugin.ts), condensed for the shipped declarations. */
const PLUGIN_TYPES = `export type ModelPart = { type: "text"; text: string } | { type: "image"; mediaType: string; data: string } | { type: "reasoning"; text: string } | { type: "tool-call"; id: string; name: string; args: unknown } | { type: "tool-result"; callId: string; name: string; output: string; isError: boolean }
export interface ModelMessage { role: "user" | "assistant" | "tool" | "system"; parts: ModelPart[] }
export interface ModelUsage { input: number; output: number; cached: number }
export interface ModelRequest { system: string; messages: ModelMessage[]; tools: { name: string; description: string; parameters: Record<string, unknown> }[]; sessionId: string; options?: Record<string, unknown> }
export type ModelFailure = "auth" | "rate_limit" | "server" | "timeout" | "network" | "stream" | "unavailable" | "invalid" | "overload" | "aborted" | "unknown"
export type ModelEvent = { type: "text"; delta: string } | { type: "reasoning"; delta: string } | { type: "tool-call"; id: string; name: string; args: string } | { type: "usage"; usage: ModelUsage } | { type: "done"; stop: "stop" | "tool_calls" | "length" | "aborted" } | { type: "error"; kind: ModelFailure; message: string; status?: number; retryAfterMs?: number } | { type: "attempt"; provider: string; model: string; attempt: number } | { type: "attempt-failed"; provider: string; model: string; kind: ModelFailure; message: string; status?: number; cooldownMs: number; partial: boolean; retryInMs?: number }
export interface ModelProvider { readonly id: string; readonly kind: string; readonly model: string; stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelEvent> }
export interface PluginProfile { id: string; kind: string; model?: string; baseUrl?: string; maxTokens?: number; [key: string]: unknown }
export interface PluginProvider<Config = unknown> { name: string; create(context: { profile: PluginProfile; config: Config; log: ToolLogger }): ModelProvider }
export interface PluginCommandContext<Config = unknown> { channel: string; sessionId: string | null; config: Config; log: ToolLogger }
export interface PluginCommand<Config = unknown> { name: string; usage?: string; help: string; run(arg: string, context: PluginCommandContext<Config>): string | { text: string; listing?: boolean } | Promise<string | { text: string; listing?: boolean }> }
export interface PluginRoute<Config = unknown> { method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"; path: string; handler(request: Request, context: { config: Config; log: ToolLogger }): Response | Promise<Response> }
export interface PluginChannelContext<Config = unknown> { config: Config; log: ToolLogger; send(input: { text: string; sessionId?: string }): Promise<{ sessionId: string; text: string }>; command(line: string, sessionId?: string | null): Promise<{ text: string; sessionId: string | null } | null> }
export interface PluginChannel<Config = unknown> { name: string; start(context: PluginChannelHost<Config>): { stop(graceMs?: number): unknown } | Promise<{ stop(graceMs?: number): unknown }>; config?: JsonSchema; check?(context: { config: Config; log: ToolLogger }): ChannelCheck | Promise<ChannelCheck> }
export type ChannelCheck = { ok: true; identity: string } | { ok: false; problem: string }
export interface ChannelAttachment { mediaType: string; data?: string; ref?: string; bytes?: number }
export interface ChannelImage extends ChannelAttachment {}
export interface ChannelFile extends ChannelAttachment { name: string }
export interface ChannelVoice extends ChannelAttachment { durationSec: number }
export interface ChannelMessage { eventId: string; conversation: string; user: { id: string; name: string; bot?: boolean }; place: "dm" | "group"; group?: string; space?: string; addressed: boolean; text: string; images?: ChannelImage[]; files?: ChannelFile[]; voice?: ChannelVoice; replyTo?: string; title?: string }
export interface ChannelSpace { id: string; groups: readonly string[]; members: "allowed" | "all" }
export interface ChannelAccess { allowedUsers: readonly string[]; pairing: boolean; groups?: { enabled: boolean; allowed: readonly string[]; members: "allowed" | "all"; spaces?: readonly ChannelSpace[] } }
export interface ChannelLimits { messageChars: number; editIntervalMs: number; format: "telegram-html" | "discord-markdown" | "slack-mrkdwn" | "html" | "plain"; edits: boolean }
export type ChannelReplyItem = { kind: "text"; text: string } | { kind: "tool"; name: string; state: "running" | "ok" | "error" }
export interface ChannelChunk { formatted: string; plain: string }
export interface ChannelReplySurface { readonly limits: ChannelLimits; post(chunk: ChannelChunk, options: { formatted: boolean; replyTo?: string }): Promise<{ id: string }>; edit(message: { id: string }, chunk: ChannelChunk, options: { formatted: boolean }): Promise<void>; typing?(): Promise<void>; render(items: ChannelReplyItem[], note?: string): ChannelChunk[]; classify(error: unknown): "not-modified" | "format-rejected" | "missing" | "other"; escape?(text: string): string }
export interface ChannelApproval { id: string; tool: string; args: unknown; sessionId: string; requestedAt: number; expiresAt: number }
export interface ChannelDecision { id: string; approved: boolean; decision: "approve" | "deny" | "session" | "timeout" | "aborted" | "restart"; by: string }
export type ChannelButton = { label: string; data: string; style: "approve" | "deny" }
export interface ChannelApprovalSurface<Ref = unknown> { show(conversation: string, request: ChannelApproval, text: string): Promise<Ref>; settle(ref: Ref, decision: ChannelDecision, outcome: { label: string; data: string }): Promise<void> }
export interface ChannelServeOptions<Ref = unknown> { scope: string; access: ChannelAccess; surface(conversation: string): ChannelReplySurface; post(conversation: string, text: string): Promise<unknown>; messageChars?: number; approvals?: ChannelApprovalSurface<Ref>; fetch?(ref: string, limits: { maxBytes: number; mediaType: string }): Promise<Uint8Array>; postVoice?(conversation: string, audio: { bytes: Uint8Array; mediaType: string; fileName: string }): Promise<unknown> }
export interface ChannelEndpoint { receive(message: ChannelMessage): Promise<boolean>; command(input: { conversation: string; userId: string; line: string }): Promise<{ text: string; listing: boolean; refused: boolean } | null>; press(input: { data: string; userId: string; conversation: string; label?: string }): Promise<{ decided: boolean; refused: boolean; text: string }> }
export interface ChannelState { get<T = unknown>(key: string): Promise<T | undefined>; set(key: string, value: unknown): Promise<void> }
export interface PluginChannelHost<Config = unknown> extends PluginChannelContext<Config> { readonly kind: string; readonly state: ChannelState; health(problem: string | null): void; serve<Ref>(options: ChannelServeOptions<Ref>): ChannelEndpoint; commandMenu(): { name: string; usage: string; help: string }[]; approvalButtons(approvalId: string): ChannelButton[][] }
export interface PluginDefinition<Config = unknown> { name: string; version: string; description?: string; config?: JsonSchema; tools?: ToolDefinition<any>[]; providers?: PluginProvider<Config>[]; commands?: PluginCommand<Config>[]; routes?: PluginRoute<Config>[]; channels?: PluginChannel<Config>[] }
export declare function definePlugin<Config = unknown>(definition: PluginDefinition<Config>): PluginDefinition<Config>
`

const TYPES = `export type JsonSchema = { type?: string; properties?: Record<string, unknown>; required?: string[]; [key: string]: unknown }
export interface ToolLogger { info(message: string, fields?: Record<string, unknown>): void; warn(message: string, fields?: Record<string, unknown>): void; error(message: string, fields?: Record<string, unknown>): void }
export interface ToolContext { sessionId: string; turnId: string; callId: string; workspace: { root: string; tools: string; memory: string; prompts: string }; signal: AbortSignal; log: ToolLogger }
export interface ToolPermissions { read?: boolean | string[]; write?: boolean | string[]; net?: boolean | string[]; run?: boolean | string[]; env?: boolean | string[] }
export interface ToolDefinition<Args = Record<string, unknown>> { name: string; description: string; parameters: JsonSchema; permissions?: ToolPermissions; sandbox?: "deno" | "none"; timeoutMs?: number; execute(args: Args, context: ToolContext): unknown | Promise<unknown> }
export declare const version: string
export declare function defineTool<Args = Record<string, unknown>>(definition: ToolDefinition<Args>): ToolDefinition<Args>
export declare function defineConfig(config: ConfigInput): ConfigInput
${PLUGIN_TYPES}`

/**
 * The configuration a `drost.config.ts` may give, as plain TypeScript generated from the schema the
 * runtime validates with (no TypeBox types needed to check it: Deno has none offline).
 */
export function configInputType(): string {
  return `/** What drost.config.ts may give (generated from the configuration schema; every key is validated at start). */\nexport type ConfigInput = ${schemaType(ConfigSchema as never)}\n`
}

/** src/sdk/config-input.ts: the SDK imports this copy so its own source checks under Deno too. */
export function configInputFile(): string {
  return `// Generated from the configuration schema (src/core/config.ts) by configInputFile() in src/tool/sdk-source.ts;
// do not edit. test/tool/deno-check.test.ts fails when it is out of date and prints how to rewrite it.
// biome-ignore-all format: generated (the test compares it byte for byte with the generator)
${configInputType()}`
}

/**
 * Plain JavaScript (ESM) with the SDK's runtime exports. With `types` (the declarations' file name
 * beside it), a `@ts-self-types` directive points Deno at them: `deno check` types an import of
 * this file with them instead of seeing an untyped module (TS2558 on `defineTool<Args>`).
 */
export function sdkJavaScript(types?: string): string {
  const lines = [
    ...(types ? [`/* @ts-self-types="./${types}" */`] : []),
    "// Generated by drost from its tool SDK. Do not edit: it is rewritten on upgrade.",
  ]
  for (const [key, value] of Object.entries(sdk)) {
    if (typeof value === "function") lines.push(`export const ${key} = ${value.toString()};`)
    else lines.push(`export const ${key} = ${JSON.stringify(value)};`)
  }
  return `${lines.join("\n")}\n`
}

/** Type declarations matching sdkJavaScript(), for editors and `tsc`. */
export function sdkTypes(): string {
  return `// Generated by drost. The runtime provides "drost" itself; this copy is for editors, tests and deno check.\n${TYPES}${configInputType()}`
}
