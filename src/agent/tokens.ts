/**
 * Token estimates for budgets. No tokenizer ships for every model, so we count about four characters per
 * token, which over-counts English prose slightly (safe for a budget) and charges images a flat price.
 */
import type { ChatMessage, Part } from "../core/message.ts"

export const IMAGE_TOKENS = 1_000

export function estimate(text: string): number {
  return Math.ceil(text.length / 4)
}

export function partTokens(part: Part): number {
  switch (part.type) {
    case "text":
    case "reasoning":
      return estimate(part.text) + 1
    case "image":
      return IMAGE_TOKENS
    case "tool-call":
      return (
        estimate(part.name) + estimate(typeof part.args === "string" ? part.args : JSON.stringify(part.args ?? {})) + 8
      )
    case "tool-result":
      return estimate(part.output) + 8
  }
}

export function messageTokens(message: Pick<ChatMessage, "parts">): number {
  return 4 + message.parts.reduce((sum, part) => sum + partTokens(part), 0)
}

/** Cut `text` to about `tokens`, saying so at the end. */
export function clip(text: string, tokens: number, hint: string): { text: string; clipped: boolean } {
  const limit = tokens * 4
  if (text.length <= limit) return { text, clipped: false }
  if (limit <= 0) return { text: "", clipped: true }
  return {
    text: `${text.slice(0, limit).trimEnd()}\n[… cut at ${tokens} tokens of about ${estimate(text)}; ${hint}]`,
    clipped: true,
  }
}
