/**
 * Chat Completions adapter: kinds `openai` (with `api: "chat"`), `openai-compatible` (vLLM, llama.cpp,
 * LM Studio, …) and `xai`. The raw SSE stream is folded by our own accumulator keyed by the tool
 * call's `index` (falling back to its id), which tolerates compatible servers that omit `role` or
 * repeat ids, and argument JSON that arrives in fragments.
 */
import type OpenAI from "openai"
import type { ChatCompletionChunk } from "openai/resources/chat/completions"
import type { Profile } from "../core/config.ts"
import type { ChatRequest, Provider, StopReason, StreamEvent } from "../core/provider.ts"
import { chatOptions, encodeChatTools, toChatMessages } from "./chat-wire.ts"
import { type Credential, type CredentialResolver, missingKeyMessage, needsKey } from "./credential.ts"
import { encodeBody } from "./encode.ts"
import { modelCall } from "./call.ts"
import { timeoutsOf } from "./guard.ts"
import { endpoint, postStream } from "./post.ts"
import { WireNames } from "./wire-names.ts"

export interface ChatDefaults {
  baseUrl: string
  model?: string
}

/**
 * An OpenAI SDK client with everything explicit: no env lookups, no SDK retries (the router owns them),
 * for the calls that are not a turn's model request (the key probe, audio). Model requests go over
 * `fetch` (post.ts). The SDK loads on the first such call.
 */
export async function openaiClient(
  baseUrl: string,
  credential: Credential | null,
  timeoutMs?: number,
): Promise<OpenAI> {
  const { default: OpenAI } = await import("openai")
  return new OpenAI({
    apiKey: credential?.value ?? "none",
    baseURL: baseUrl,
    organization: null,
    project: null,
    webhookSecret: null,
    maxRetries: 0,
    logLevel: "off",
    timeout: timeoutMs ?? 600_000,
    // A compatible server without auth gets no Authorization header at all.
    ...(credential ? {} : { defaultHeaders: { authorization: null } }),
  })
}

const STOPS: Record<string, StopReason> = {
  stop: "stop",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  length: "length",
  content_filter: "stop",
}

interface PendingCall {
  id: string
  name: string
  args: string
}

/** Folds chunks into stream events; `finish()` emits the tool calls, usage and the terminal event. */
export class ChatAccumulator {
  private readonly calls = new Map<string, PendingCall>()
  private stop: StopReason | null = null
  private usage: { input: number; output: number; cached: number } | null = null

  constructor(private readonly names: WireNames) {}

  push(chunk: ChatCompletionChunk): StreamEvent[] {
    const out: StreamEvent[] = []
    if (chunk.usage) {
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0
      this.usage = { input: chunk.usage.prompt_tokens ?? 0, output: chunk.usage.completion_tokens ?? 0, cached }
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {}
      const reasoning =
        (delta as { reasoning_content?: string | null; reasoning?: string | null }).reasoning_content ??
        (delta as { reasoning?: string | null }).reasoning
      if (reasoning) out.push({ type: "reasoning", delta: reasoning })
      if (delta.content) out.push({ type: "text", delta: delta.content })
      for (const [position, call] of (delta.tool_calls ?? []).entries()) {
        const key = call.index !== undefined ? `#${call.index}` : call.id ? `id:${call.id}` : `#${position}`
        const pending = this.calls.get(key) ?? { id: "", name: "", args: "" }
        if (call.id) pending.id = call.id
        if (call.function?.name)
          pending.name += pending.name && pending.name === call.function.name ? "" : call.function.name
        if (call.function?.arguments) pending.args += call.function.arguments
        this.calls.set(key, pending)
      }
      if (choice.finish_reason) this.stop = STOPS[choice.finish_reason] ?? "stop"
    }
    return out
  }

  finish(): StreamEvent[] {
    if (!this.stop)
      return [
        { type: "error", kind: "stream", message: "the stream ended before the model finished (no finish_reason)" },
      ]
    const out: StreamEvent[] = []
    let n = 0
    for (const call of this.calls.values()) {
      n++
      out.push({
        type: "tool-call",
        id: call.id || `call_${Date.now().toString(36)}_${n}`,
        name: this.names.name(call.name),
        args: call.args,
      })
    }
    if (this.usage) out.push({ type: "usage", usage: this.usage })
    // Some servers say "stop" although they returned tool calls; the calls are what matter.
    out.push({ type: "done", stop: this.calls.size ? "tool_calls" : this.stop })
    return out
  }
}

export function createChatProvider(profile: Profile, credential: CredentialResolver, defaults: ChatDefaults): Provider {
  const model = profile.model ?? defaults.model
  if (!model) throw new Error(`provider profile "${profile.id}" (kind ${profile.kind}) needs a model`)
  const baseUrl = profile.baseUrl ?? defaults.baseUrl
  const timeouts = timeoutsOf(profile)
  const url = endpoint(baseUrl, "chat/completions")
  return {
    id: profile.id,
    kind: profile.kind,
    model,
    async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<StreamEvent> {
      const key = credential(profile)
      if (!key && needsKey(profile.kind)) {
        yield { type: "error", kind: "auth", message: missingKeyMessage(profile) }
        return
      }
      const names = new WireNames(request.tools.map((tool) => tool.name))
      const body = {
        model,
        stream: true as const,
        stream_options: { include_usage: true },
        messages: toChatMessages(request.system, request.messages, names) as OpenAI.Chat.ChatCompletionMessageParam[],
        ...(profile.maxTokens ? { max_completion_tokens: profile.maxTokens } : {}),
        ...chatOptions(request.options, names, request.tools.length),
      }
      const encoded = encodeBody(body, { tools: encodeChatTools(request.tools, names) })
      yield* modelCall((abort) => postStream(url, key, encoded, abort), new ChatAccumulator(names), signal, timeouts)
    },
  }
}
