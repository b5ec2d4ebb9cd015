/**
 * The stored, provider-neutral conversation. Every provider adapter converts to and from this shape, so
 * a session can switch providers mid-conversation and each one still receives a complete history.
 */
import { type Static, Type } from "./schema.ts"

export const TextPart = Type.Object({ type: Type.Literal("text"), text: Type.String() })
export const ImagePart = Type.Object({
  type: Type.Literal("image"),
  mediaType: Type.String({ description: "e.g. image/png" }),
  data: Type.String({ description: "base64 bytes, or an http(s)/data URL" }),
})
export const ReasoningPart = Type.Object({ type: Type.Literal("reasoning"), text: Type.String() })
export const ToolCallPart = Type.Object({
  type: Type.Literal("tool-call"),
  id: Type.String(),
  name: Type.String(),
  args: Type.Unknown(),
})
export const ToolResultPart = Type.Object({
  type: Type.Literal("tool-result"),
  callId: Type.String(),
  name: Type.String(),
  output: Type.String(),
  isError: Type.Boolean(),
})
export const Part = Type.Union([TextPart, ImagePart, ReasoningPart, ToolCallPart, ToolResultPart])
export type Part = Static<typeof Part>
export type TextPart = Static<typeof TextPart>
export type ToolCallPart = Static<typeof ToolCallPart>
export type ToolResultPart = Static<typeof ToolResultPart>
export type ImagePart = Static<typeof ImagePart>

export const Usage = Type.Object({
  input: Type.Number(),
  output: Type.Number(),
  cached: Type.Number(),
})
export type Usage = Static<typeof Usage>
export const zeroUsage = (): Usage => ({ input: 0, output: 0, cached: 0 })
export function addUsage(a: Usage, b: Usage): Usage {
  return { input: a.input + b.input, output: a.output + b.output, cached: a.cached + b.cached }
}

/** `user` carries input; `assistant` text and tool calls; `tool` the results of one step's calls. */
export const Role = Type.Union([
  Type.Literal("user"),
  Type.Literal("assistant"),
  Type.Literal("tool"),
  Type.Literal("system"),
])
export type Role = Static<typeof Role>

export const Message = Type.Object({
  id: Type.String(),
  seq: Type.Number({ description: "monotonic position in the store" }),
  sessionId: Type.String(),
  turnId: Type.Union([Type.String(), Type.Null()]),
  role: Role,
  parts: Type.Array(Part),
  provider: Type.Union([Type.String(), Type.Null()]),
  usage: Type.Union([Usage, Type.Null()]),
  createdAt: Type.Number(),
})
export type Message = Static<typeof Message>

/** What a provider needs of a message: no ids, no bookkeeping. */
export interface ChatMessage {
  role: Role
  parts: Part[]
}

export function text(parts: Part[]): string {
  return parts
    .filter((part): part is TextPart => part.type === "text")
    .map((part) => part.text)
    .join("")
}

export function toolCalls(parts: Part[]): ToolCallPart[] {
  return parts.filter((part): part is ToolCallPart => part.type === "tool-call")
}

export * as Msg from "./message.ts"
