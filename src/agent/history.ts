/**
 * Turns stored messages into the history sent to a provider. The store keeps everything as it
 * happened; this view repairs what a crash can leave behind so every wire format accepts it: a tool
 * call whose result was never recorded gets a synthetic error result, and a result with no call is
 * dropped.
 */
import type { ChatMessage, Message, Part, ToolResultPart } from "../core/message.ts"

export function toChat(messages: Message[]): ChatMessage[] {
  const out: ChatMessage[] = []
  const answered = new Set<string>()
  for (const message of messages) {
    if (message.role === "tool")
      for (const part of message.parts) if (part.type === "tool-result") answered.add(part.callId)
  }
  const called = new Set<string>()
  for (const message of messages) {
    if (message.role === "tool") {
      const parts = message.parts.filter((part) => part.type === "tool-result" && called.has(part.callId))
      if (parts.length) out.push({ role: "tool", parts })
      continue
    }
    if (message.role !== "assistant") {
      out.push({ role: message.role, parts: message.parts })
      continue
    }
    out.push({ role: "assistant", parts: message.parts })
    const missing: ToolResultPart[] = []
    for (const part of message.parts) {
      if (part.type !== "tool-call") continue
      called.add(part.id)
      if (!answered.has(part.id))
        missing.push({
          type: "tool-result",
          callId: part.id,
          name: part.name,
          output: "no result: the turn was interrupted before this tool finished",
          isError: true,
        })
    }
    if (missing.length) out.push({ role: "tool", parts: missing as Part[] })
  }
  return out
}
