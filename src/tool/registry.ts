/**
 * The tool registry. It owns everything between a model's tool call and the result the model sees:
 * the tool policy, argument parsing and validation, a timeout tied to the turn's abort signal, output
 * truncation, and turning every failure into an error result the model can act on. Nothing a tool
 * does escapes as an exception.
 *
 * Tools come in groups: the built-ins are registered one by one; the workspace loader and each MCP
 * server replace their whole group at once (`setGroup`), so a reload is atomic and a name clash with
 * another group is a rejection with a reason (`rejected()`), never a crash.
 */
import type { ToolSpec } from "../core/provider.ts"
import type { ToolContext, ToolDefinition } from "../sdk/mod.ts"
import type { Logger } from "../util/log.ts"
import { type Emit, ToolsEvent } from "./events.ts"
import { type Decision, decide, type PolicyConfig } from "./policy.ts"
import { problems } from "./validate.ts"

export type ToolSource = "builtin" | "workspace" | "mcp"

export interface RegisteredTool {
  name: string
  description: string
  parameters: Record<string, unknown>
  source: ToolSource
  file?: string
  /** Overrides the registry's default timeout for this tool. */
  timeoutMs?: number
  /** Runs code the model controls, so only inside the OS sandbox (off where there is none). */
  confined?: boolean
  /** How it runs, for /tools: "worker", "deno", "mcp:<server>". */
  runner?: string
  execute: ToolDefinition["execute"]
}

/** A tool that could not be loaded, and why (shown by /tools, status and the API). */
export interface Rejection {
  group: string
  /** The file or server it came from. */
  file: string
  name?: string
  reason: string
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

/** What the approver sees of a call: after the policy and argument validation, before it runs. */
export interface ApprovalCall {
  name: string
  args: unknown
  sessionId: string
  turnId: string
  callId: string
  /** The call's signal: the approver's wait must end when it aborts. */
  signal: AbortSignal
}

export type ApprovalVerdict = { approved: true } | { approved: false; reason: string }

/** Decides whether a call may run (tools.approve: a person decides); injected so the registry stays channel-free. */
export type Approver = (call: ApprovalCall) => Promise<ApprovalVerdict>

export interface ToolRegistryOptions {
  timeoutMs: number
  outputLimit: number
  log: Logger
  /** The tool policy (read at every call, so a config reload applies at once). Default: allow all. */
  policy?: () => PolicyConfig
  /** Why a tool cannot run here at all (e.g. it needs the OS sandbox and none works), or null. */
  unavailable?: (tool: RegisteredTool) => string | null
  emit?: Emit
  /** Asked before every call runs (approvals); the default lets every call run. */
  approve?: Approver
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
    return {
      ok: false,
      error: `the arguments are not valid JSON (${(error as Error).message}); send a JSON object matching the tool's parameters`,
    }
  }
}

export function createToolRegistry(options: ToolRegistryOptions) {
  const tools = new Map<string, RegisteredTool>()
  /** Which group registered each name; built-ins registered with `register` are in "builtin". */
  const owner = new Map<string, string>()
  const rejections = new Map<string, Rejection[]>()
  let approve: Approver | undefined = options.approve
  /** Bumped whenever a tool is added or removed: the kept `list()` order and `specs()` are redone. */
  let version = 0
  let sorted: RegisteredTool[] | null = null
  let offered: { version: number; key: string; specs: ToolSpec[] } | null = null
  const changed = () => {
    version++
    sorted = null
  }

  const validate = (tool: RegisteredTool, args: unknown): string | null => {
    const lines = problems(tool.parameters, args)
    if (lines.length === 0) return null
    return `invalid arguments for ${tool.name}:\n${lines.join("\n")}\nFix the arguments and call the tool again.`
  }
  const decision = (name: string): Decision => (options.policy ? decide(options.policy(), name) : { allowed: true })

  const registry = {
    register(tool: RegisteredTool) {
      if (!TOOL_NAME.test(tool.name))
        throw new Error(`invalid tool name "${tool.name}" (letters, digits, _ . - only, at most 64)`)
      if (tools.has(tool.name)) throw new Error(`tool "${tool.name}" is already registered`)
      tools.set(tool.name, tool)
      owner.set(tool.name, "builtin")
      changed()
    },
    unregister(name: string) {
      owner.delete(name)
      changed()
      return tools.delete(name)
    },
    get: (name: string) => tools.get(name),
    /** Every registered tool by name (a copy of the order kept while the set is unchanged). */
    list: (): RegisteredTool[] => {
      sorted ??= [...tools.values()].sort((a, b) => a.name.localeCompare(b.name))
      return [...sorted]
    },
    /**
     * The tools the model is offered: everything the policy allows. Asked at every model call (and by
     * the system prompt's budget), so the same frozen array is returned while the tools, the policy and
     * what is unavailable are unchanged: 500 tools cost a filter and 500 new objects per call otherwise.
     */
    specs: (): ToolSpec[] => {
      const policy = options.policy?.()
      let key = policy ? `${policy.profile}|${JSON.stringify(policy.allow)}|${JSON.stringify(policy.deny)}|` : "|"
      const unavailable = options.unavailable
      if (unavailable) for (const tool of tools.values()) if (unavailable(tool)) key += `${tool.name},`
      if (offered?.version === version && offered.key === key) return offered.specs
      const specs = [...tools.values()]
        .filter((tool) => decision(tool.name).allowed && !unavailable?.(tool))
        .map((tool) => Object.freeze({ name: tool.name, description: tool.description, parameters: tool.parameters }))
      offered = { version, key, specs: Object.freeze(specs) as ToolSpec[] }
      return offered.specs
    },
    /** Whether the policy lets the model call `name` (and why not). */
    allowed: decision,
    /** Install the approver (the gateway does, once the approval service exists). */
    setApprover(next: Approver | undefined) {
      approve = next
    },

    /**
     * Replace every tool of `group` with `next` in one step. Names taken by another group are
     * rejected (the earlier owner keeps its name); `extra` rejections (load errors) are recorded too.
     */
    setGroup(group: string, next: RegisteredTool[], extra: Rejection[] = []): Rejection[] {
      for (const [name, by] of owner) if (by === group) registry.unregister(name)
      const rejected = [...extra]
      for (const tool of next) {
        const by = owner.get(tool.name)
        if (!TOOL_NAME.test(tool.name))
          rejected.push({
            group,
            file: tool.file ?? group,
            name: tool.name,
            reason: `invalid tool name "${tool.name}" (letters, digits, _ . - only, at most 64)`,
          })
        else if (by)
          rejected.push({
            group,
            file: tool.file ?? group,
            name: tool.name,
            reason: `name clash: "${tool.name}" is already provided by ${by === "builtin" ? "a built-in tool" : by}`,
          })
        else {
          tools.set(tool.name, tool)
          owner.set(tool.name, group)
        }
      }
      changed()
      if (rejected.length) rejections.set(group, rejected)
      else rejections.delete(group)
      return rejected
    },
    /** Record rejections for a group without touching its tools (e.g. an MCP server that is down). */
    setRejected(group: string, list: Rejection[]) {
      if (list.length) rejections.set(group, list)
      else rejections.delete(group)
    },
    rejected: (): Rejection[] => [...rejections.values()].flat(),

    /** Run one call; always resolves. */
    async run(call: ToolRun): Promise<ToolResult> {
      const started = performance.now()
      const done = (output: string, isError: boolean): ToolResult => ({
        output: truncate(output, options.outputLimit),
        isError,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      })
      const tool = tools.get(call.name)
      if (!tool)
        return done(
          `unknown tool "${call.name}"; available tools: ${registry
            .specs()
            .map((spec) => spec.name)
            .sort()
            .join(", ")}`,
          true,
        )
      const off = options.unavailable?.(tool)
      if (off) return done(`${tool.name} is off on this machine: ${off}`, true)
      const verdict = decision(tool.name)
      if (!verdict.allowed) {
        options.emit?.(ToolsEvent.Denied, {
          name: tool.name,
          reason: verdict.reason,
          sessionId: call.context.sessionId,
          turnId: call.context.turnId,
          callId: call.context.callId,
        })
        options.log.warn("tool call denied by policy", { tool: tool.name, reason: verdict.reason })
        return done(
          `denied by the tool policy: ${verdict.reason}. Do not retry this tool; use another way or ask the user.`,
          true,
        )
      }
      const parsed = parseArgs(call.args)
      if (!parsed.ok) return done(parsed.error, true)
      let invalid: string | null
      try {
        invalid = validate(tool, parsed.value)
      } catch (error) {
        return done(`${tool.name} has an unusable parameters schema: ${(error as Error).message}`, true)
      }
      if (invalid) return done(invalid, true)

      if (approve) {
        // Waiting for a person does not count against the tool's own timeout, which starts below.
        const approval = await approve({
          name: tool.name,
          args: parsed.value,
          sessionId: call.context.sessionId,
          turnId: call.context.turnId,
          callId: call.context.callId,
          signal: call.context.signal,
        }).catch(
          (error): ApprovalVerdict => ({ approved: false, reason: `the approval check failed (${String(error)})` }),
        )
        if (!approval.approved)
          return done(
            `${tool.name} was not run: ${approval.reason}. Do not retry this call; tell the user, or ask them how to proceed.`,
            true,
          )
      }

      const timeoutMs = tool.timeoutMs ?? options.timeoutMs
      const timeout = AbortSignal.timeout(timeoutMs)
      const signal = AbortSignal.any([call.context.signal, timeout])
      const log = {
        info: (message: string, fields?: Record<string, unknown>) =>
          options.log.info(`[${tool.name}] ${message}`, fields),
        warn: (message: string, fields?: Record<string, unknown>) =>
          options.log.warn(`[${tool.name}] ${message}`, fields),
        error: (message: string, fields?: Record<string, unknown>) =>
          options.log.error(`[${tool.name}] ${message}`, fields),
      }
      // A tool that ignores its signal still cannot hold the turn past the deadline.
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true })
      })
      try {
        const value = await Promise.race([
          Promise.resolve().then(() =>
            tool.execute(parsed.value as Record<string, unknown>, { ...call.context, signal, log }),
          ),
          aborted,
        ])
        const output =
          typeof value === "string" ? value : value === undefined ? "(no output)" : JSON.stringify(value, null, 2)
        return done(output, false)
      } catch (error) {
        if (timeout.aborted) return done(`${tool.name} timed out after ${timeoutMs} ms`, true)
        if (call.context.signal.aborted) return done(`${tool.name} was aborted`, true)
        return done(`${tool.name} failed: ${error instanceof Error ? error.message : String(error)}`, true)
      }
    },
  }
  return registry
}
