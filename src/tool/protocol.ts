/**
 * Messages between the workspace tool loader (in the gateway) and a tool host (a separate, sandboxed
 * process per generation, host.ts). One JSON object per line: the loader writes to the host's stdin,
 * the host answers on file descriptor 3, so whatever a tool prints on stdout or stderr cannot corrupt
 * the channel. Plain JSON-able data only: the tool objects stay in the host.
 */
import type { ToolPermissions } from "../sdk/mod.ts"

/** The hidden first argument that turns the drost executable (or `bun src/index.ts`) into a tool host. */
export const HOST_ARG = "__drost-tool-host"
/** The file descriptor the host writes its messages to. */
export const HOST_FD = 3

export interface ToolMeta {
  file: string
  name: string
  description: string
  parameters: Record<string, unknown>
  permissions?: ToolPermissions
  sandbox?: "deno" | "none"
  timeoutMs?: number
}

export interface CallContext {
  sessionId: string
  turnId: string
  callId: string
  workspace: { root: string; tools: string; memory: string; prompts: string }
}

export type ToHost =
  /** Import `files` (in order) with `cwd` as the working folder; answered by `loaded`. */
  | { type: "load"; files: string[]; version: number; importTimeoutMs: number; cwd: string }
  | { type: "call"; id: number; name: string; args: unknown; context: CallContext }
  | { type: "abort"; id: number; reason: string }

export type FromHost =
  /** Sent before each import, so a host that dies or hangs there is blamed on the right file. */
  | { type: "importing"; file: string }
  | { type: "loaded"; tools: ToolMeta[]; rejected: { file: string; reason: string }[] }
  | { type: "result"; id: number; ok: true; value: unknown }
  | { type: "result"; id: number; ok: false; error: string }
  | { type: "log"; id: number; level: "info" | "warn" | "error"; message: string; fields?: Record<string, unknown> }

/** Check the shape of what a tool file exported; null when it is a usable tool. */
export function shapeProblem(value: unknown): string | null {
  if (value === undefined)
    return "no default export (write `export default defineTool({ name, description, parameters, execute })`)"
  if (value === null || typeof value !== "object")
    return `the default export is ${value === null ? "null" : typeof value}, not a tool object`
  const tool = value as Record<string, unknown>
  const missing = ["name", "description", "parameters", "execute"].filter((key) => tool[key] === undefined)
  if (missing.length) return `the tool is missing ${missing.join(", ")}`
  if (typeof tool.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(tool.name))
    return `invalid name ${JSON.stringify(tool.name)} (letters, digits, _ . - only, at most 64)`
  if (typeof tool.description !== "string") return "description must be a string"
  if (typeof tool.parameters !== "object" || tool.parameters === null || Array.isArray(tool.parameters))
    return "parameters must be a JSON Schema object"
  if (
    (tool.parameters as { type?: unknown }).type !== undefined &&
    (tool.parameters as { type?: unknown }).type !== "object"
  )
    return 'parameters must describe an object (type: "object")'
  if (typeof tool.execute !== "function") return "execute must be a function"
  if (tool.sandbox !== undefined && tool.sandbox !== "deno" && tool.sandbox !== "none")
    return 'sandbox must be "deno" or "none"'
  if (tool.timeoutMs !== undefined && (typeof tool.timeoutMs !== "number" || tool.timeoutMs <= 0))
    return "timeoutMs must be a positive number"
  return null
}

/**
 * The tools of a plugin (`definePlugin({ tools })`, src/plugins) when `value` is one; null for
 * anything else (a tool file's default export is then checked as a tool).
 */
export function pluginTools(value: unknown): unknown[] | null {
  if (value === null || typeof value !== "object") return null
  const plugin = value as { tools?: unknown; execute?: unknown; version?: unknown }
  if (typeof plugin.execute === "function" || typeof plugin.version !== "string") return null
  return Array.isArray(plugin.tools) ? plugin.tools : []
}

/** One line, no stack: what a person needs to fix the file. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length)
    return error.errors.map((inner) => describeError(inner)).join("; ")
  const text =
    error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error)
  return text.split("\n")[0]!.slice(0, 500)
}
