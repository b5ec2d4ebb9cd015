/**
 * Summaries written by the session's own provider: one text-only request (no tools, so no tool-call
 * pairs to keep valid in it), with a deterministic fallback when the provider fails, times out or
 * answers with nothing. Used by compaction and by /new's continuity summary.
 */
import type { Message } from "../core/message.ts"
import type { Provider } from "../core/provider.ts"
import { fallbackSummary, transcript } from "./compact.ts"

export type SummaryPurpose = "compaction" | "continuity"

const INSTRUCTIONS: Record<SummaryPurpose, string> = {
  compaction: `You compress the earlier part of a conversation between a user and an AI agent so the agent can continue without it.
Write a factual summary in Markdown with these headings: Objective, Decisions and facts, Work done (tools used and what they showed), Open threads.
Keep names, paths, numbers, commitments and the user's preferences exactly. No preamble.`,
  continuity: `A conversation between a user and an AI agent is ending and a fresh session starts. Write the note the next session starts from.
Markdown with these headings: Objective, Decisions, Open threads (what is unfinished or promised). Keep names, paths and numbers exactly. No preamble.`,
}

export interface SummariseInput {
  provider: Provider
  purpose: SummaryPurpose
  /** The summary these messages continue from, if any. */
  previous: string | null
  messages: Message[]
  sessionId: string
  maxTokens: number
  signal?: AbortSignal
  timeoutMs?: number
}

export interface SummaryResult {
  text: string
  source: "model" | "fallback"
  /** Why the fallback was used. */
  reason?: string
}

export async function summarise(input: SummariseInput): Promise<SummaryResult> {
  const fallback = (reason: string): SummaryResult => ({
    text: fallbackSummary(input.previous, input.messages),
    source: "fallback",
    reason,
  })
  const body = [
    input.previous ? `Summary so far:\n${input.previous}\n\nConversation since then:` : "Conversation:",
    transcript(input.messages),
    "",
    `Write the summary now, in at most about ${input.maxTokens} tokens.`,
  ].join("\n")
  const signal = AbortSignal.any([
    input.signal ?? new AbortController().signal,
    AbortSignal.timeout(input.timeoutMs ?? 60_000),
  ])
  let text = ""
  try {
    for await (const event of input.provider.stream(
      {
        system: INSTRUCTIONS[input.purpose],
        messages: [{ role: "user", parts: [{ type: "text", text: body }] }],
        tools: [],
        sessionId: input.sessionId,
      },
      signal,
    )) {
      if (event.type === "text") text += event.delta
      else if (event.type === "error") return fallback(`${input.provider.id}: ${event.message}`)
      else if (event.type === "done") break
    }
  } catch (error) {
    return fallback(`${input.provider.id}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (signal.aborted) return fallback("the summary request was aborted or timed out")
  const clean = text.trim()
  if (clean.length < 20)
    return fallback(`${input.provider.id} answered with ${clean.length ? "too little" : "nothing"}`)
  // A summary longer than asked is cut, not trusted to shrink the view.
  const limit = input.maxTokens * 6
  return { text: clean.length > limit ? `${clean.slice(0, limit)}…` : clean, source: "model" }
}
