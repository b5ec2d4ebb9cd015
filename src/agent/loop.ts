/**
 * One turn of the agent: call the model, run the tool calls it asks for, feed the results back, and
 * repeat until it answers without tools or a limit is hit. Transport-free: it touches neither SQLite
 * nor any channel; `persist` and `emit` are injected. It always resolves with an outcome; nothing a
 * provider or a tool does escapes as an exception.
 */
import type { ChatMessage, Part, ToolCallPart, ToolResultPart, Usage } from "../core/message.ts"
import { addUsage, zeroUsage } from "../core/message.ts"
import type { Provider, StreamEvent } from "../core/provider.ts"
import type { ToolRegistry, ToolResult } from "../tool/registry.ts"

export interface LoopLimits {
  maxSteps: number
  maxToolCalls: number
}

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
  /** Make a step durable before the loop goes on. */
  persist(message: { role: "assistant" | "tool"; parts: Part[]; usage?: Usage; provider?: string }): void
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

export async function runLoop(input: LoopInput): Promise<LoopOutcome> {
  const messages = [...input.history]
  let usage = zeroUsage()
  let toolCalls = 0
  let lastText = ""
  const outcome = (status: LoopOutcome["status"], reason: string | null, steps: number): LoopOutcome => ({
    status,
    reason,
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
        { system: input.system, messages, tools: input.tools.specs(), sessionId: input.sessionId },
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
              reason: `${event.provider} failed (${event.kind}); retrying on the next provider`,
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

    const parts: Part[] = [
      ...(reasoning ? [{ type: "reasoning" as const, text: reasoning }] : []),
      ...(text ? [{ type: "text" as const, text }] : []),
      ...(terminal.type === "done" ? calls : []),
    ]
    if (text) lastText = text

    if (terminal.type === "error") {
      input.emit({ type: "provider-error", step, kind: terminal.kind, message: terminal.message, latencyMs, ...served })
      // Keep what was streamed before the failure; the user saw it.
      if (parts.length) input.persist({ role: "assistant", parts, usage: stepUsage, provider: served?.provider })
      if (terminal.kind === "aborted" || input.signal.aborted)
        return outcome("aborted", String(input.signal.reason ?? "aborted"), step)
      return outcome("failed", `provider ${served?.provider ?? input.provider.id} failed: ${terminal.message}`, step)
    }

    input.emit({ type: "response", step, usage: stepUsage, latencyMs, stop: terminal.stop, ...served })
    if (parts.length) input.persist({ role: "assistant", parts, usage: stepUsage, provider: served?.provider })
    messages.push({ role: "assistant", parts })
    if (calls.length === 0) return outcome("completed", null, step)

    const results = await Promise.all(
      calls.map(async (call): Promise<ToolResultPart> => {
        input.emit({ type: "tool-start", call })
        toolCalls++
        const result: ToolResult =
          toolCalls > input.limits.maxToolCalls
            ? {
                output: `tool-call budget of ${input.limits.maxToolCalls} per turn is used up; answer with what you have`,
                isError: true,
                durationMs: 0,
              }
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
    input.persist({ role: "tool", parts: results })
    messages.push({ role: "tool", parts: results })
    if (input.signal.aborted) return outcome("aborted", String(input.signal.reason ?? "aborted"), step)
  }
  return outcome("failed", `step limit of ${input.limits.maxSteps} model calls reached`, input.limits.maxSteps)
}
