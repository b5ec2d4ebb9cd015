/**
 * Neutral history → OpenAI Responses API input items. Tool calls become `function_call` items and
 * their results `function_call_output` items with the same `call_id`; nothing is stored server-side
 * (`store: false`), so every request carries the complete history, as after a provider switch.
 */
import type { ChatMessage } from "../core/message.ts"
import type { ToolSpec } from "../core/provider.ts"
import { argsText, imageUrl } from "./chat-wire.ts"
import { encodeTools, schemaJson } from "./encode.ts"
import type { WireNames } from "./wire-names.ts"

export type ResponsesInputItem =
  | {
      role: "user"
      content: ({ type: "input_text"; text: string } | { type: "input_image"; image_url: string; detail: "auto" })[]
    }
  | { role: "assistant" | "system"; content: string }
  | { type: "function_call"; call_id: string; name: string; arguments: string }
  | { type: "function_call_output"; call_id: string; output: string }

export function toResponsesInput(history: ChatMessage[], names: WireNames): ResponsesInputItem[] {
  const out: ResponsesInputItem[] = []
  for (const message of history) {
    if (message.role === "user") {
      const content: Extract<ResponsesInputItem, { role: "user" }>["content"] = []
      for (const part of message.parts) {
        if (part.type === "text" && part.text) content.push({ type: "input_text", text: part.text })
        else if (part.type === "image") content.push({ type: "input_image", image_url: imageUrl(part), detail: "auto" })
      }
      if (content.length) out.push({ role: "user", content })
    } else if (message.role === "assistant" || message.role === "system") {
      const text = message.parts.map((part) => (part.type === "text" ? part.text : "")).join("")
      if (text) out.push({ role: message.role, content: text })
      for (const part of message.parts)
        if (part.type === "tool-call")
          out.push({
            type: "function_call",
            call_id: part.id,
            name: names.wire(part.name),
            arguments: argsText(part.args),
          })
    } else {
      for (const part of message.parts)
        if (part.type === "tool-result")
          out.push({ type: "function_call_output", call_id: part.callId, output: part.output })
    }
  }
  return out
}

/** The offered tools as JSON (null when there are none), their schemas encoded once (see encode.ts). */
export function encodeResponsesTools(tools: ToolSpec[], names: WireNames): string | null {
  return encodeTools(
    tools,
    names,
    "responses",
    (tool, wire) =>
      `{"type":"function","name":${JSON.stringify(wire)},"description":${JSON.stringify(tool.description)},"parameters":${schemaJson(tool.parameters)},"strict":false}`,
  )
}
