/**
 * One turn of the agent: call the model, run the tool calls it asks for, feed the results back, and
 * repeat until it answers without tools or a limit is hit. Transport-free: it touches neither SQLite
 * nor any channel; `persist` and `emit` are injected. It always resolves with an outcome; nothing a
 * provider or a tool does escapes as an exception.
 */
import type { ChatMessage, Part, ToolCallPart, ToolResultPart, Usage } from "../core/message.ts"
import { addUsage, zeroUsage } from "../core/message.ts"
import type { GenerationOptions, Provider, StreamEvent, ToolSpec } from "../core/provider.ts"
import type { ToolRegistry, ToolResult } from "../tool/registry.ts"
import type { ClientToolResult, ClientTools } from "./client-tools.ts"

export interface LoopLimits {
  maxSteps: number
  maxToolCalls: number
  /** The whole turn, model calls and tools together (default 30 minutes): every turn ends. */
  turnTimeoutMs?: number
}

export const DEFAULT_TURN_TIMEOUT_MS = 1_800_000

/** `provider`/`model` name the candidate that actually served the step when a router failed over. */
export type LoopEvent =
  | { type: "delta"; text: string }
  | { type: "request"; step: number; messages: number }
  | { type: "response"; step: number; usage: Usage; latencyMs: number; stop: string; provider?: string; model?: string }
  | {
      type: "provider-error"
      step: number
      kind: string
      message: string
      latencyMs: number
      provider?: string
      model?: string
    }
  | { type: "attempt"; step: number; provider: string; model: string; attempt: number }
  | {
      type: "attempt-failed"
      step: number
      provider: string
      model: string
      kind: string
      message: string
      status?: number
      cooldownMs: number
      latencyMs: number
      /** The same provider is tried again after this pause (a retry rather than a failover). */
      retryInMs?: number
    }
  /** Text already streamed in this step is void (its provider failed); channels must drop it. */
  | { type: "discard"; step: number; chars: number; reason: string }
  | { type: "tool-start"; call: ToolCallPart }
  | { type: "tool-end"; call: ToolCallPart; result: ToolResult }

export interface LoopInput {
  provider: Provider
  system: string
  history: ChatMessage[]
  tools: ToolRegistry
  limits: LoopLimits
  signal: AbortSignal
  sessionId: string
  turnId: string
  workspace: { root: string; tools: string; memory: string; prompts: string }
  /** The client's generation settings for this turn (OpenAI-compatible endpoint); `toolChoice` binds step 1 only. */
  options?: GenerationOptions
  /** Tools the client runs (OpenAI-compatible endpoint): calls to them pause the turn until their results come. */
  client?: ClientTools
  /** Make a step durable before the loop goes on. */
  persist(message: { role: "assistant" | "tool"; parts: Part[]; usage?: Usage; provider?: string }): unknown
  emit(event: LoopEvent): void
}

export interface LoopOutcome {
  status: "completed" | "failed" | "aborted"
  reason: string | null
  text: string
  usage: Usage
  steps: number
  toolCalls: number
}

function parseArgs(raw: string): unknown {
  try {
    return raw.trim() === "" ? {} : JSON.parse(raw)
  } catch {
    return raw // kept verbatim: the registry reports it to the model as invalid JSON
  }
}

/**
 * The calls of one step that get a result: those within the turn's tool-call budget, or, with the
 * budget spent, the first one (its result says so); the rest are dropped unrun and unstored, so a
 * model asking for 10,000 calls costs 50 results, not 10,000 (2.3 MB a turn in the audit).
 */
function admit(calls: ToolCallPart[], used: number, max: number): { kept: ToolCallPart[]; dropped: number } {
  const kept = calls.slice(0, Math.max(1, max - used))
  return { kept, dropped: calls.length - kept.length }
}

/** The client's result for one call; a call it did not answer is an error result the model sees. */
async function clientResult(results: Promise<Map<string, ClientToolResult>>, id: string): Promise<ToolResult> {
  const started = performance.now()
  const result = (await results).get(id) ?? { output: "the client sent no result for this tool call", isError: true }
  return { ...result, durationMs: Math.round(performance.now() - started) }
}

export async function runLoop(input: LoopInput): Promise<LoopOutcome> {
  const turnMs = input.limits.turnTimeoutMs ?? DEFAULT_TURN_TIMEOUT_MS
  const deadline = new AbortController()
  const timer = setTimeout(
    () =>
      deadline.abort(
        `turn deadline: the turn did not finish within ${turnMs} ms (agent.turnTimeoutMs); what it had done is kept`,
      ),
    turnMs,
  )
  try {
    return await steps({ ...input, signal: AbortSignal.any([input.signal, deadline.signal]) }, deadline.signal)
  } finally {
    clearTimeout(timer)
  }
}

/** The tools offered to the model: the client's first (their wire names stay as the client wrote them), then ours. */
function offered(input: LoopInput): ToolSpec[] {
  const own = input.tools.specs()
  if (!input.client?.specs.length) return own
  const theirs = new Set(input.client.specs.map((spec) => spec.name))
  return [...input.client.specs, ...own.filter((spec) => !theirs.has(spec.name))]
}

/**
 * The options for one step. A forced tool choice (`required` or a named tool) binds the first step
 * only: later steps follow tool results, and forcing a call on each would never let the turn end.
 */
function optionsFor(options: GenerationOptions | undefined, step: number): GenerationOptions | undefined {
  if (!options?.toolChoice || step === 1 || options.toolChoice === "none") return options
  const { toolChoice: _, ...rest } = options
  return rest
}

async function steps(input: LoopInput, deadline: AbortSignal): Promise<LoopOutcome> {
  const messages = [...input.history]
  const tools = offered(input)
  const clientNames = new Set(input.client?.specs.map((spec) => spec.name))
  let usage = zeroUsage()
  let toolCalls = 0
  let lastText = ""
  const outcome = (status: LoopOutcome["status"], reason: string | null, steps: number): LoopOutcome => ({
    // Our own deadline is a failure of the turn, not someone stopping it.
    status: status === "aborted" && deadline.aborted ? "failed" : status,
    reason: status === "aborted" && deadline.aborted ? String(deadline.reason) : reason,
    text: lastText,
    usage,
    steps,
    toolCalls,
  })

  for (let step = 1; step <= input.limits.maxSteps; step++) {
    if (input.signal.aborted) return outcome("aborted", String(input.signal.reason ?? "aborted"), step - 1)
    input.emit({ type: "request", step, messages: messages.length })
    const started = performance.now()
    let text = ""
    let reasoning = ""
    const calls: ToolCallPart[] = []
    let stepUsage = zeroUsage()
    let terminal: Extract<StreamEvent, { type: "done" | "error" }> | null = null
    let served: { provider: string; model: string } | undefined
    let attemptStarted = started

    try {
      for await (const event of input.provider.stream(
        {
          system: input.system,
          messages,
          tools,
          sessionId: input.sessionId,
          ...(input.options ? { options: optionsFor(input.options, step) } : {}),
        },
        input.signal,
      )) {
        if (event.type === "text") {
          text += event.delta
          input.emit({ type: "delta", text: event.delta })
        } else if (event.type === "reasoning") reasoning += event.delta
        else if (event.type === "tool-call")
          calls.push({ type: "tool-call", id: event.id, name: event.name, args: parseArgs(event.args) })
        else if (event.type === "usage") stepUsage = addUsage(stepUsage, event.usage)
        else if (event.type === "attempt") {
          served = { provider: event.provider, model: event.model }
          attemptStarted = performance.now()
          input.emit({ type: "attempt", step, provider: event.provider, model: event.model, attempt: event.attempt })
        } else if (event.type === "attempt-failed") {
          const { type: _, partial: __, ...failure } = event
          input.emit({
            type: "attempt-failed",
            step,
            ...failure,
            latencyMs: Math.round(performance.now() - attemptStarted),
          })
          // The next candidate starts the step over: what this one streamed is void, and the user must
          // not see it twice.
          if (text)
            input.emit({
              type: "discard",
              step,
              chars: text.length,
              reason:
                event.retryInMs !== undefined
                  ? `${event.provider} failed (${event.kind}); retrying it in ${event.retryInMs} ms`
                  : `${event.provider} failed (${event.kind}); retrying on the next provider`,
            })
          text = ""
          reasoning = ""
          calls.length = 0
        } else {
          terminal = event
          break
        }
      }
    } catch (error) {
      // The contract says providers never throw; a broken adapter still must not crash the turn.
      terminal = { type: "error", kind: "unknown", message: error instanceof Error ? error.message : String(error) }
    }
    terminal ??= { type: "error", kind: "unknown", message: "the provider stream ended without a final event" }
    const latencyMs = Math.round((performance.now() - started) * 100) / 100
    usage = addUsage(usage, stepUsage)

    const { kept, dropped } = admit(calls, toolCalls, input.limits.maxToolCalls)
    const parts: Part[] = [
      ...(reasoning ? [{ type: "reasoning" as const, text: reasoning }] : []),
      ...(text ? [{ type: "text" as const, text }] : []),
      ...(terminal.type === "done" ? kept : []),
    ]
    if (text) lastText = text

    if (terminal.type === "error") {
      input.emit({ type: "provider-error", step, kind: terminal.kind, message: terminal.message, latencyMs, ...served })
      // Keep what was streamed before the failure; the user saw it.
      if (parts.length) await input.persist({ role: "assistant", parts, usage: stepUsage, provider: served?.provider })
      if (terminal.kind === "aborted" || input.signal.aborted)
        return outcome("aborted", String(input.signal.reason ?? "aborted"), step)
      return outcome("failed", `provider ${served?.provider ?? input.provider.id} failed: ${terminal.message}`, step)
    }

    input.emit({ type: "response", step, usage: stepUsage, latencyMs, stop: terminal.stop, ...served })
    if (parts.length) await input.persist({ role: "assistant", parts, usage: stepUsage, provider: served?.provider })
    messages.push({ role: "assistant", parts })
    if (kept.length === 0) return outcome("completed", null, step)

    // Calls of client tools within the budget go to the client together, in one pause of the turn.
    const before = toolCalls
    const forClient = kept.filter(
      (call, index) => clientNames.has(call.name) && before + index + 1 <= input.limits.maxToolCalls,
    )
    const fromClient = forClient.length
      ? input.client!.run(forClient, { text, signal: input.signal })
      : Promise.resolve(new Map<string, ClientToolResult>())
    const results = await Promise.all(
      kept.map(async (call): Promise<ToolResultPart> => {
        input.emit({ type: "tool-start", call })
        toolCalls++
        const result: ToolResult =
          toolCalls > input.limits.maxToolCalls
            ? {
                output: `tool-call budget of ${input.limits.maxToolCalls} per turn is used up; answer with what you have`,
                isError: true,
                durationMs: 0,
              }
            : forClient.includes(call)
              ? await clientResult(fromClient, call.id)
              : await input.tools.run({
                  name: call.name,
                  args: call.args,
                  context: {
                    sessionId: input.sessionId,
                    turnId: input.turnId,
                    callId: call.id,
                    workspace: input.workspace,
                    signal: input.signal,
                  },
                })
        input.emit({ type: "tool-end", call, result })
        return { type: "tool-result", callId: call.id, name: call.name, output: result.output, isError: result.isError }
      }),
    )
    if (dropped > 0) {
      // The count is stored with what ran, and the model learns its other calls never happened.
      const last = results[results.length - 1]!
      last.output = `${last.output}\n\n[${dropped} more tool calls in this step were dropped unrun: the budget is ${input.limits.maxToolCalls} tool calls per turn]`
    }
    await input.persist({ role: "tool", parts: results })
    messages.push({ role: "tool", parts: results })
    if (input.signal.aborted) return outcome("aborted", String(input.signal.reason ?? "aborted"), step)
  }
  return outcome("failed", `step limit of ${input.limits.maxSteps} model calls reached`, input.limits.maxSteps)
}
