/**
 * History budgets. The view sent to a provider must fit its window; the store keeps everything. Past the
 * budget, the oldest messages (after the last summary) are summarised and the view becomes
 * `[summary] + newest messages`. The cut is only ever placed before a user or assistant message, never
 * before a tool result, so every tool call in the view keeps its result and vice versa, which every wire
 * format (OpenAI, Anthropic, compatible servers) requires. The summary is merged into the first kept user
 * message so strict role alternation holds too.
 */
import type { ChatMessage, Message, Part } from "../core/message.ts"
import { toChat } from "./history.ts"
import { type CurrentTurn, ordered } from "./order.ts"
import { messageTokens } from "./tokens.ts"

export interface SummaryRef {
  uptoSeq: number
  text: string
}

export const SUMMARY_HEADER =
  "[Summary of the earlier conversation. The full messages are stored; this is what the model sees of them.]"

/**
 * The messages after the summary, in reading order. A summary covers the reading-order prefix that ends
 * with its `uptoSeq` message (the cut is always at a turn's start, so this prefix is stable).
 */
export function afterSummary(messages: Message[], summary: SummaryRef | null, current?: CurrentTurn): Message[] {
  const all = ordered(messages, current)
  if (!summary) return all
  const at = all.findIndex((message) => message.seq === summary.uptoSeq)
  return at >= 0 ? all.slice(at + 1) : all.filter((message) => message.seq > summary.uptoSeq)
}

/** The messages a provider sees: the newest summary, then every message after it. */
export function view(messages: Message[], summary: SummaryRef | null, current?: CurrentTurn): ChatMessage[] {
  const chat = toChat(afterSummary(messages, summary, current))
  if (!summary) return chat
  const block: Part = { type: "text", text: `${SUMMARY_HEADER}\n\n${summary.text}` }
  const first = chat[0]
  if (first?.role === "user") return [{ role: "user", parts: [block, ...first.parts] }, ...chat.slice(1)]
  return [{ role: "user", parts: [block] }, ...chat]
}

export const viewTokens = (chat: ChatMessage[]) => chat.reduce((sum, message) => sum + messageTokens(message), 0)

/**
 * Where to cut `rest` (the messages after the last summary) so the kept tail is about `keepRecent`
 * tokens: the index of the first kept message, or null when nothing can be summarised. A user message
 * is the preferred boundary (whole turns stay together); inside one huge turn, an assistant message.
 */
export function cutIndex(rest: Message[], keepRecent: number): number | null {
  let tail = 0
  let start = rest.length
  while (start > 0 && tail + messageTokens(rest[start - 1]!) <= keepRecent) tail += messageTokens(rest[--start]!)
  // Always keep at least the newest message.
  start = Math.min(start, rest.length - 1)
  const valid = (index: number, role: "user" | "assistant") => index > 0 && rest[index]!.role === role
  for (const role of ["user", "assistant"] as const) {
    for (let index = Math.max(start, 1); index < rest.length; index++) if (valid(index, role)) return index
  }
  // The newest message alone is over the budget: cut right before it if that is a valid boundary.
  for (let index = rest.length - 1; index > 0; index--) if (rest[index]!.role !== "tool") return index
  return null
}

/**
 * Shrinks the oldest tool results of a view (outputs only, pairs intact) until it fits `budget`. The
 * last resort when even the newest turn alone is larger than the window.
 */
export function fit(chat: ChatMessage[], budget: number): ChatMessage[] {
  let total = viewTokens(chat)
  if (total <= budget) return chat
  const out = chat.map((message) => ({ ...message, parts: [...message.parts] }))
  for (const message of out) {
    if (message.role !== "tool") continue
    message.parts = message.parts.map((part) => {
      if (total <= budget || part.type !== "tool-result" || part.output.length <= 600) return part
      const output = `${part.output.slice(0, 400)}\n[… ${part.output.length - 400} characters of this result are left out of the view to fit the context window; the stored result is complete]`
      total -= Math.ceil((part.output.length - output.length) / 4)
      return { ...part, output }
    })
    if (total <= budget) break
  }
  return out
}

/** A plain-text rendering of messages for a summariser: roles, text, tool calls and (clipped) results. */
export function transcript(messages: Message[], clipAt = 1_500): string {
  const lines: string[] = []
  for (const message of messages) {
    for (const part of message.parts) {
      if (part.type === "text") lines.push(`${message.role}: ${part.text}`)
      else if (part.type === "image") lines.push(`${message.role}: [image ${part.mediaType}]`)
      else if (part.type === "tool-call")
        lines.push(`assistant called ${part.name} ${JSON.stringify(part.args ?? {}).slice(0, 300)}`)
      else if (part.type === "tool-result") {
        const output = part.output.length > clipAt ? `${part.output.slice(0, clipAt)} […]` : part.output
        lines.push(`${part.name} ${part.isError ? "failed" : "returned"}: ${output}`)
      }
    }
  }
  return lines.join("\n")
}

const clipLine = (text: string, n: number) => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > n ? `${line.slice(0, n)}…` : line
}

/** The summary when the model cannot write one: built from the messages alone, the same every time. */
export function fallbackSummary(previous: string | null, messages: Message[]): string {
  const asks = messages
    .filter((message) => message.role === "user")
    .map((message) => clipLine(textOf(message.parts), 240))
    .filter(Boolean)
  const tools = new Map<string, number>()
  for (const message of messages)
    for (const part of message.parts)
      if (part.type === "tool-call") tools.set(part.name, (tools.get(part.name) ?? 0) + 1)
  const answers = messages
    .filter((message) => message.role === "assistant")
    .map((message) => textOf(message.parts))
    .filter(Boolean)
  const lines = ["(Written without the model: a mechanical digest of the earlier messages.)"]
  if (previous) lines.push("", "Before that:", previous)
  if (asks.length) lines.push("", `Objective (first request): ${asks[0]}`)
  if (asks.length > 1)
    lines.push(
      "",
      "Later requests:",
      ...asks
        .slice(1)
        .slice(-12)
        .map((ask) => `- ${ask}`),
    )
  if (tools.size) lines.push("", `Tools used: ${[...tools].map(([name, count]) => `${name} ×${count}`).join(", ")}`)
  if (answers.length) lines.push("", `Last answer: ${clipLine(answers.at(-1)!, 600)}`)
  return lines.join("\n")
}

function textOf(parts: Part[]): string {
  return parts
    .filter((part) => part.type === "text")
    .map((part) => (part as { text: string }).text)
    .join(" ")
}
