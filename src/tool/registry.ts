/**
 * The tool registry. It owns everything between a model's tool call and the result the model sees:
 * argument parsing and validation, a timeout tied to the turn's abort signal, output truncation, and
 * turning every failure into an error result the model can act on. Nothing a tool does escapes as an
 * exception.
 */
import type { ToolSpec } from "../core/provider.ts"
import { type TSchema, issues } from "../core/schema.ts"
import type { ToolContext, ToolDefinition } from "../sdk/mod.ts"
import type { Logger } from "../util/log.ts"

export interface RegisteredTool {
  name: string
  description: string
  parameters: Record<string, unknown>
  source: "builtin" | "workspace"
  file?: string
  execute: ToolDefinition["execute"]
}

export interface ToolResult {
  output: string
  isError: boolean
  durationMs: number
}

export interface ToolRun {
  name: string
  /** Raw arguments: a JSON string from a model, or an object from /tool and the API. */
  args: string | unknown
  context: Omit<ToolContext, "signal" | "log"> & { signal: AbortSignal }
}

export interface ToolRegistryOptions {
  timeoutMs: number
  outputLimit: number
  log: Logger
}

export type ToolRegistry = ReturnType<typeof createToolRegistry>

export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/

export function truncate(output: string, limit: number): string {
  if (output.length <= limit) return output
  const head = output.slice(0, limit)
  return `${head}\n… [output truncated: ${output.length - limit} of ${output.length} characters not shown]`
}

function parseArgs(raw: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (typeof raw !== "string") return { ok: true, value: raw ?? {} }
  if (raw.trim() === "") return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(raw) }
  } catch (error) {
    return { ok: false, error: `the arguments are not valid JSON (${(error as Error).message}); send a JSON object matching the tool's parameters` }
  }
}

export function createToolRegistry(options: ToolRegistryOptions) {
  const tools = new Map<string, RegisteredTool>()

  const validate = (tool: RegisteredTool, args: unknown): string | null => {
    const problems = issues(tool.parameters as TSchema, args)
    if (problems.length === 0) return null
    const lines = problems.map((problem) => `${problem.path === "(root)" ? "arguments" : problem.path}: ${problem.message}`)
    return `invalid arguments for ${tool.name}:\n${lines.join("\n")}\nFix the arguments and call the tool again.`
  }

  return {
    register(tool: RegisteredTool) {
      if (!TOOL_NAME.test(tool.name)) throw new Error(`invalid tool name "${tool.name}" (letters, digits, _ . - only, at most 64)`)
      if (tools.has(tool.name)) throw new Error(`tool "${tool.name}" is already registered`)
      tools.set(tool.name, tool)
    },
    unregister: (name: string) => tools.delete(name),
    get: (name: string) => tools.get(name),
    list: (): RegisteredTool[] => [...tools.values()].sort((a, b) => a.name.localeCompare(b.name)),
    specs: (): ToolSpec[] => [...tools.values()].map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.parameters })),

    /** Run one call; always resolves. */
    async run(call: ToolRun): Promise<ToolResult> {
      const started = performance.now()
      const done = (output: string, isError: boolean): ToolResult => ({
        output: truncate(output, options.outputLimit),
        isError,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      })
      const tool = tools.get(call.name)
      if (!tool) return done(`unknown tool "${call.name}"; available tools: ${[...tools.keys()].sort().join(", ")}`, true)
      const parsed = parseArgs(call.args)
      if (!parsed.ok) return done(parsed.error, true)
      const invalid = validate(tool, parsed.value)
      if (invalid) return done(invalid, true)

      const timeout = AbortSignal.timeout(options.timeoutMs)
      const signal = AbortSignal.any([call.context.signal, timeout])
      const log = {
        info: (message: string, fields?: Record<string, unknown>) => options.log.info(`[${tool.name}] ${message}`, fields),
        warn: (message: string, fields?: Record<string, unknown>) => options.log.warn(`[${tool.name}] ${message}`, fields),
        error: (message: string, fields?: Record<string, unknown>) => options.log.error(`[${tool.name}] ${message}`, fields),
      }
      // A tool that ignores its signal still cannot hold the turn past the deadline.
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true })
      })
      try {
        const value = await Promise.race([Promise.resolve().then(() => tool.execute(parsed.value as Record<string, unknown>, { ...call.context, signal, log })), aborted])
        const output = typeof value === "string" ? value : value === undefined ? "(no output)" : JSON.stringify(value, null, 2)
        return done(output, false)
      } catch (error) {
        if (timeout.aborted) return done(`${tool.name} timed out after ${options.timeoutMs} ms`, true)
        if (call.context.signal.aborted) return done(`${tool.name} was aborted`, true)
        return done(`${tool.name} failed: ${error instanceof Error ? error.message : String(error)}`, true)
      }
    },
  }
}
