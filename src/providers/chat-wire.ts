/**
 * Neutral history → OpenAI Chat Completions messages (also spoken by xAI, vLLM and other compatible
 * servers). Every assistant tool call is followed by one `tool` message per call, in order, which is
 * what the API requires of a valid history.
 */
import type { ChatMessage, ImagePart, Part } from "../core/message.ts"
import type { GenerationOptions, ToolSpec } from "../core/provider.ts"
import { encodeTools, schemaJson } from "./encode.ts"
import type { WireNames } from "./wire-names.ts"

export type ChatContent =
  | string
  | ({ type: "text"; text: string } | { type: "image_url"; image_url: { url: string } })[]

export type ChatWireMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: ChatContent }
  | {
      role: "assistant"
      content: string | null
      tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[]
    }
  | { role: "tool"; tool_call_id: string; content: string }

/** `data` may already be a URL (http(s) or data:); otherwise it is base64 bytes. */
export function imageUrl(image: ImagePart): string {
  return /^(https?:|data:)/.test(image.data) ? image.data : `data:${image.mediaType};base64,${image.data}`
}

export function argsText(args: unknown): string {
  return typeof args === "string" ? args : JSON.stringify(args ?? {})
}

function userContent(parts: Part[]): ChatContent {
  const items: Exclude<ChatContent, string> = []
  for (const part of parts) {
    if (part.type === "text" && part.text) items.push({ type: "text", text: part.text })
    else if (part.type === "image") items.push({ type: "image_url", image_url: { url: imageUrl(part) } })
  }
  if (items.every((item) => item.type === "text"))
    return items.map((item) => (item as { text: string }).text).join("\n")
  return items
}

export function toChatMessages(system: string, history: ChatMessage[], names: WireNames): ChatWireMessage[] {
  const out: ChatWireMessage[] = system ? [{ role: "system", content: system }] : []
  for (const message of history) {
    if (message.role === "system") {
      const text = message.parts.map((part) => (part.type === "text" ? part.text : "")).join("")
      if (text) out.push({ role: "system", content: text })
    } else if (message.role === "user") {
      const content = userContent(message.parts)
      if (content.length) out.push({ role: "user", content })
    } else if (message.role === "assistant") {
      const text = message.parts.map((part) => (part.type === "text" ? part.text : "")).join("")
      const calls = message.parts.flatMap((part) =>
        part.type === "tool-call"
          ? [
              {
                id: part.id,
                type: "function" as const,
                function: { name: names.wire(part.name), arguments: argsText(part.args) },
              },
            ]
          : [],
      )
      if (!text && calls.length === 0) continue
      out.push(
        calls.length
          ? { role: "assistant", content: text || null, tool_calls: calls }
          : { role: "assistant", content: text },
      )
    } else {
      for (const part of message.parts)
        if (part.type === "tool-result") out.push({ role: "tool", tool_call_id: part.callId, content: part.output })
    }
  }
  return out
}

/** The offered tools as JSON (null when there are none), their schemas encoded once (see encode.ts). */
export function encodeChatTools(tools: ToolSpec[], names: WireNames): string | null {
  return encodeTools(
    tools,
    names,
    "chat",
    (tool, wire) =>
      `{"type":"function","function":{"name":${JSON.stringify(wire)},"description":${JSON.stringify(tool.description)},"parameters":${schemaJson(tool.parameters)}}}`,
  )
}

/**
 * The client's generation options (the OpenAI-compatible endpoint) in Chat Completions' fields;
 * `tool_choice` only when tools are offered (the API refuses it otherwise).
 */
export function chatOptions(options: GenerationOptions | undefined, names: WireNames, tools: number) {
  if (!options) return {}
  const { responseFormat: format, toolChoice: choice } = options
  return {
    ...(options.maxTokens !== undefined ? { max_completion_tokens: options.maxTokens } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topP !== undefined ? { top_p: options.topP } : {}),
    ...(options.stop?.length ? { stop: options.stop } : {}),
    ...(format
      ? {
          response_format:
            format.type === "json_object"
              ? { type: "json_object" as const }
              : {
                  type: "json_schema" as const,
                  json_schema: {
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
            typeof choice === "string"
              ? choice
              : { type: "function" as const, function: { name: names.wire(choice.name) } },
        }
      : {}),
  }
}
