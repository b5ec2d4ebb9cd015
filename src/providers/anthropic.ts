/**
 * Anthropic Messages adapter (kind `anthropic`), with an API key or a setup token (`claude
 * setup-token`, sent as an OAuth bearer token with the oauth beta header). Content blocks are
 * accumulated by their `index`; `input_json_delta` fragments are joined and parsed at the end.
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages"
import type { Profile } from "../core/config.ts"
import type { ChatRequest, GenerationOptions, Provider, StopReason, StreamEvent } from "../core/provider.ts"
import { defaultMaxTokens, encodeAnthropicTools, toAnthropicMessages } from "./anthropic-wire.ts"
import { encodeBody, JSON_BODY } from "./encode.ts"
import { type Credential, type CredentialResolver, missingKeyMessage } from "./credential.ts"
import { modelCall } from "./call.ts"
import { timeoutsOf } from "./guard.ts"
import { WireNames } from "./wire-names.ts"

export const ANTHROPIC_BASE_URL = "https://api.anthropic.com"
export const OAUTH_BETA = "oauth-2025-04-20"

/**
 * Exactly one credential option is passed, so the SDK reads neither env variables nor its credential
 * chain. The SDK loads on the first call, so gateways that never talk to Anthropic never load it.
 */
export async function anthropicClient(baseUrl: string, credential: Credential, timeoutMs?: number): Promise<Anthropic> {
  const { default: Anthropic } = await import("@anthropic-ai/sdk")
  const common = {
    baseURL: baseUrl,
    maxRetries: 0,
    logLevel: "off" as const,
    timeout: timeoutMs ?? 600_000,
    webhookKey: null,
  }
  return credential.type === "setup-token"
    ? new Anthropic({ ...common, authToken: credential.value, defaultHeaders: { "anthropic-beta": OAUTH_BETA } })
    : new Anthropic({ ...common, apiKey: credential.value })
}

const STOPS: Record<string, StopReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  tool_use: "tool_calls",
  max_tokens: "length",
  pause_turn: "stop",
  refusal: "stop",
}

interface Block {
  type: "text" | "tool_use" | "thinking" | "other"
  id: string
  name: string
  json: string
}

export class AnthropicAccumulator {
  private readonly blocks = new Map<number, Block>()
  private stop: StopReason | null = null
  private finished = false
  private usage = { input: 0, output: 0, cached: 0 }

  constructor(private readonly names: WireNames) {}

  push(event: RawMessageStreamEvent): StreamEvent[] {
    switch (event.type) {
      case "message_start": {
        const usage = event.message.usage
        const cached = usage.cache_read_input_tokens ?? 0
        this.usage = {
          input: (usage.input_tokens ?? 0) + cached + (usage.cache_creation_input_tokens ?? 0),
          output: usage.output_tokens ?? 0,
          cached,
        }
        return []
      }
      case "content_block_start": {
        const block = event.content_block
        const type =
          block.type === "text" || block.type === "tool_use" || block.type === "thinking" ? block.type : "other"
        this.blocks.set(event.index, {
          type,
          id: block.type === "tool_use" ? block.id : "",
          name: block.type === "tool_use" ? block.name : "",
          json: "",
        })
        if (block.type === "text" && block.text) return [{ type: "text", delta: block.text }]
        return []
      }
      case "content_block_delta": {
        const delta = event.delta
        if (delta.type === "text_delta") return delta.text ? [{ type: "text", delta: delta.text }] : []
        if (delta.type === "thinking_delta") return delta.thinking ? [{ type: "reasoning", delta: delta.thinking }] : []
        if (delta.type === "input_json_delta") {
          const block = this.blocks.get(event.index)
          if (block) block.json += delta.partial_json
        }
        return []
      }
      case "message_delta": {
        if (event.delta.stop_reason) this.stop = STOPS[event.delta.stop_reason] ?? "stop"
        if (event.usage?.output_tokens != null) this.usage.output = event.usage.output_tokens
        return []
      }
      case "message_stop":
        this.finished = true
        return []
      default:
        return []
    }
  }

  finish(): StreamEvent[] {
    if (!this.finished && !this.stop)
      return [{ type: "error", kind: "stream", message: "the stream ended before message_stop" }]
    const out: StreamEvent[] = []
    const calls = [...this.blocks.entries()].sort(([a], [b]) => a - b).filter(([, block]) => block.type === "tool_use")
    for (const [, block] of calls)
      out.push({ type: "tool-call", id: block.id, name: this.names.name(block.name), args: block.json || "{}" })
    out.push({ type: "usage", usage: this.usage })
    out.push({ type: "done", stop: calls.length ? "tool_calls" : (this.stop ?? "stop") })
    return out
  }
}

export function createAnthropicProvider(profile: Profile, credential: CredentialResolver): Provider {
  const model = profile.model ?? "claude-sonnet-4-5"
  const baseUrl = profile.baseUrl ?? ANTHROPIC_BASE_URL
  const timeouts = timeoutsOf(profile)
  const maxTokens = profile.maxTokens ?? defaultMaxTokens(model)
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
      const client = await anthropicClient(baseUrl, key, profile.timeoutMs)
      const converted = toAnthropicMessages(request.messages, names)
      const system = [request.system, converted.system].filter(Boolean).join("\n\n")
      const body = {
        model,
        max_tokens: request.options?.maxTokens ?? maxTokens,
        stream: true as const,
        messages: converted.messages as Anthropic.MessageParam[],
        ...(system ? { system } : {}),
        ...anthropicOptions(request.options, names, request.tools.length),
      }
      // Sent as encoded here (the SDK passes a string body through), the event stream read by sse.ts.
      const encoded = encodeBody(body, { tools: encodeAnthropicTools(request.tools, names) })
      yield* modelCall(
        (abort) => client.messages.create(body, { signal: abort, body: encoded, headers: JSON_BODY }).asResponse(),
        new AnthropicAccumulator(names),
        signal,
        timeouts,
      )
    },
  }
}

/**
 * The client's generation options (the OpenAI-compatible endpoint) in the Messages API's fields
 * (`max_tokens` is set above). It has no JSON mode: the endpoint refuses `response_format` for this kind.
 */
function anthropicOptions(options: GenerationOptions | undefined, names: WireNames, tools: number) {
  if (!options) return {}
  const choice = options.toolChoice
  return {
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topP !== undefined ? { top_p: options.topP } : {}),
    ...(options.stop?.length ? { stop_sequences: options.stop } : {}),
    ...(choice && tools > 0
      ? {
          tool_choice:
            choice === "required"
              ? { type: "any" as const }
              : typeof choice === "string"
                ? { type: choice }
                : { type: "tool" as const, name: names.wire(choice.name) },
        }
      : {}),
  }
}
