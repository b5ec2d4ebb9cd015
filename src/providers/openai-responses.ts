/**
 * OpenAI Responses API adapter (the default for kind `openai`). Function calls are accumulated per
 * output item (`item_id`, falling back to `output_index`); the `output_item.done` event carries the
 * authoritative arguments when the server sends it.
 */
import type OpenAI from "openai"
import type { ResponseStreamEvent } from "openai/resources/responses/responses"
import type { Profile } from "../core/config.ts"
import type { ChatRequest, GenerationOptions, Provider, StopReason, StreamEvent } from "../core/provider.ts"
import { type CredentialResolver, missingKeyMessage } from "./credential.ts"
import { encodeBody } from "./encode.ts"
import { modelCall } from "./call.ts"
import { timeoutsOf } from "./guard.ts"
import { endpoint, postStream } from "./post.ts"
import { encodeResponsesTools, toResponsesInput } from "./responses-wire.ts"
import { WireNames } from "./wire-names.ts"

interface PendingCall {
  callId: string
  name: string
  args: string
  done: boolean
}

export class ResponsesAccumulator {
  private readonly calls = new Map<string, PendingCall>()
  private readonly byIndex = new Map<number, string>()
  private terminal: StreamEvent | null = null
  private usage: { input: number; output: number; cached: number } | null = null

  constructor(private readonly names: WireNames) {}

  private call(itemId: string | undefined, index: number): PendingCall {
    const key = itemId ?? this.byIndex.get(index) ?? `#${index}`
    let pending = this.calls.get(key)
    if (!pending) {
      pending = { callId: "", name: "", args: "", done: false }
      this.calls.set(key, pending)
      this.byIndex.set(index, key)
    }
    return pending
  }

  push(event: ResponseStreamEvent): StreamEvent[] {
    switch (event.type) {
      case "response.output_text.delta":
        return event.delta ? [{ type: "text", delta: event.delta }] : []
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta":
        return event.delta ? [{ type: "reasoning", delta: event.delta }] : []
      case "response.output_item.added":
      case "response.output_item.done": {
        const item = event.item
        if (item.type !== "function_call") return []
        const pending = this.call(item.id, event.output_index)
        pending.callId = item.call_id || pending.callId
        pending.name = item.name || pending.name
        if (event.type === "response.output_item.done") {
          if (item.arguments) pending.args = item.arguments
          pending.done = true
        }
        return []
      }
      case "response.function_call_arguments.delta":
        this.call(event.item_id, event.output_index).args += event.delta
        return []
      case "response.function_call_arguments.done":
        this.call(event.item_id, event.output_index).args = event.arguments
        return []
      case "response.completed":
      case "response.incomplete": {
        const usage = event.response.usage
        if (usage)
          this.usage = {
            input: usage.input_tokens,
            output: usage.output_tokens,
            cached: usage.input_tokens_details?.cached_tokens ?? 0,
          }
        const stop: StopReason =
          event.type === "response.incomplete" ? "length" : this.calls.size ? "tool_calls" : "stop"
        this.terminal = { type: "done", stop }
        return []
      }
      case "response.failed": {
        const error = event.response.error
        this.terminal = {
          type: "error",
          kind: /rate/i.test(error?.code ?? "") ? "rate_limit" : "server",
          message: `response failed: ${error?.message ?? "unknown error"}`,
        }
        return []
      }
      case "error":
        this.terminal = {
          type: "error",
          kind: /rate/i.test(event.code ?? "") ? "rate_limit" : "stream",
          message: `stream error: ${event.message}`,
        }
        return []
      default:
        return []
    }
  }

  finish(): StreamEvent[] {
    if (!this.terminal)
      return [{ type: "error", kind: "stream", message: "the stream ended before response.completed" }]
    if (this.terminal.type === "error") return [this.terminal]
    const out: StreamEvent[] = []
    for (const call of this.calls.values())
      out.push({ type: "tool-call", id: call.callId, name: this.names.name(call.name), args: call.args })
    if (this.usage) out.push({ type: "usage", usage: this.usage })
    out.push(this.terminal)
    return out
  }
}

export function createResponsesProvider(
  profile: Profile,
  credential: CredentialResolver,
  defaults: { baseUrl: string; model: string },
): Provider {
  const model = profile.model ?? defaults.model
  const baseUrl = profile.baseUrl ?? defaults.baseUrl
  const timeouts = timeoutsOf(profile)
  const url = endpoint(baseUrl, "responses")
  return {
    id: profile.id,
    kind: profile.kind,
    model,
    async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<StreamEvent> {
      const key = credential(profile)
      if (!key) {
        yield { type: "error", kind: "auth", message: missingKeyMessage(profile) }
        return
      }
      const names = new WireNames(request.tools.map((tool) => tool.name))
      const body = {
        model,
        stream: true as const,
        store: false,
        ...(request.system ? { instructions: request.system } : {}),
        input: toResponsesInput(request.messages, names) as OpenAI.Responses.ResponseInput,
        ...(profile.maxTokens ? { max_output_tokens: profile.maxTokens } : {}),
        ...responsesOptions(request.options, names, request.tools.length),
      }
      const encoded = encodeBody(body, { tools: encodeResponsesTools(request.tools, names) })
      yield* modelCall(
        (abort) => postStream(url, key, encoded, abort),
        new ResponsesAccumulator(names),
        signal,
        timeouts,
      )
    },
  }
}

/**
 * The client's generation options (the OpenAI-compatible endpoint) in the Responses API's fields.
 * It has no `stop`: stop sequences are not sent to this kind.
 */
function responsesOptions(options: GenerationOptions | undefined, names: WireNames, tools: number) {
  if (!options) return {}
  const { responseFormat: format, toolChoice: choice } = options
  return {
    ...(options.maxTokens !== undefined ? { max_output_tokens: options.maxTokens } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topP !== undefined ? { top_p: options.topP } : {}),
    ...(format
      ? {
          text: {
            format:
              format.type === "json_object"
                ? { type: "json_object" as const }
                : {
                    type: "json_schema" as const,
                    name: format.name,
                    schema: format.schema,
                    ...(format.strict !== undefined ? { strict: format.strict } : {}),
                    ...(format.description ? { description: format.description } : {}),
                  },
          },
        }
      : {}),
    ...(choice && tools > 0
      ? {
          tool_choice:
            typeof choice === "string" ? choice : { type: "function" as const, name: names.wire(choice.name) },
        }
      : {}),
  }
}
