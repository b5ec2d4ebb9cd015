/**
 * Neutral history → Anthropic Messages. Roles must alternate user/assistant and start with a user
 * turn; tool results travel as `tool_result` blocks at the start of the next user message, each
 * answering a `tool_use` of the assistant message just before. Consecutive same-role messages are
 * merged so a history written by another provider stays valid.
 */
import type { ChatMessage, ImagePart } from "../core/message.ts"
import type { ToolSpec } from "../core/provider.ts"
import { encodeTools, schemaJson } from "./encode.ts"
import { safeId, type WireNames } from "./wire-names.ts"

export type AnthropicBlock =
  | { type: "text"; text: string }
  | { type: "image"; source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string } }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean }

export interface AnthropicMessage {
  role: "user" | "assistant"
  content: AnthropicBlock[]
}

function image(part: ImagePart): AnthropicBlock {
  if (/^https?:/.test(part.data)) return { type: "image", source: { type: "url", url: part.data } }
  const inline = part.data.match(/^data:([^;,]+);base64,(.*)$/s)
  return {
    type: "image",
    source: { type: "base64", media_type: inline ? inline[1]! : part.mediaType, data: inline ? inline[2]! : part.data },
  }
}

/** `tool_use.input` must be an object; arguments the model sent as broken JSON are kept visible. */
function input(args: unknown): Record<string, unknown> {
  if (args && typeof args === "object" && !Array.isArray(args)) return args as Record<string, unknown>
  return { invalid_arguments: typeof args === "string" ? args : JSON.stringify(args) }
}

export function toAnthropicMessages(
  history: ChatMessage[],
  names: WireNames,
): { system: string; messages: AnthropicMessage[] } {
  const out: AnthropicMessage[] = []
  const extraSystem: string[] = []
  const add = (role: AnthropicMessage["role"], blocks: AnthropicBlock[]) => {
    if (blocks.length === 0) return
    const last = out.at(-1)
    if (last && last.role === role) last.content.push(...blocks)
    else out.push({ role, content: blocks })
  }
  for (const message of history) {
    if (message.role === "system") {
      extraSystem.push(message.parts.map((part) => (part.type === "text" ? part.text : "")).join(""))
    } else if (message.role === "user") {
      add(
        "user",
        message.parts.flatMap((part): AnthropicBlock[] =>
          part.type === "text" && part.text
            ? [{ type: "text", text: part.text }]
            : part.type === "image"
              ? [image(part)]
              : [],
        ),
      )
    } else if (message.role === "assistant") {
      add(
        "assistant",
        message.parts.flatMap((part): AnthropicBlock[] =>
          part.type === "text" && part.text.trim()
            ? [{ type: "text", text: part.text }]
            : part.type === "tool-call"
              ? [{ type: "tool_use", id: safeId(part.id), name: names.wire(part.name), input: input(part.args) }]
              : [],
        ),
      )
    } else {
      add(
        "user",
        message.parts.flatMap((part): AnthropicBlock[] =>
          part.type === "tool-result"
            ? [
                {
                  type: "tool_result",
                  tool_use_id: safeId(part.callId),
                  content: part.output,
                  ...(part.isError ? { is_error: true } : {}),
                },
              ]
            : [],
        ),
      )
    }
  }
  // The API rejects a conversation that opens with the assistant.
  if (out[0]?.role === "assistant")
    out.unshift({ role: "user", content: [{ type: "text", text: "(conversation continues)" }] })
  return { system: extraSystem.filter(Boolean).join("\n\n"), messages: out }
}

/** Anthropic's `input_schema` is the tool's schema with `type: "object"` guaranteed. */
const INPUT_SCHEMA = { name: "anthropic", wrap: (schema: object) => ({ type: "object", ...schema }) }

/** The offered tools as JSON (null when there are none), their schemas encoded once (see encode.ts). */
export function encodeAnthropicTools(tools: ToolSpec[], names: WireNames): string | null {
  return encodeTools(
    tools,
    names,
    "anthropic",
    (tool, wire) =>
      `{"name":${JSON.stringify(wire)},"description":${JSON.stringify(tool.description)},"input_schema":${schemaJson(tool.parameters, INPUT_SCHEMA)}}`,
  )
}

/** Output caps of known model families; anything else gets a generous default, never a small one. */
export function defaultMaxTokens(model: string): number {
  if (/opus-4/.test(model)) return 32_000
  if (/(sonnet-4|3-7-sonnet|haiku-4)/.test(model)) return 64_000
  if (/3-5-haiku|3-5-sonnet/.test(model)) return 8_192
  if (/claude-3-(opus|haiku|sonnet)/.test(model)) return 4_096
  return 16_384
}
