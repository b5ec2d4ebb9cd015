/**
 * Discord's ReplySurface (contract.ts) for the shared streamer (src/channels/stream.ts): posts and
 * edits through @discordjs/rest (which keeps to the rate-limit headers and waits out a 429's
 * `retry_after`), the typing indicator, and the final answer as Discord Markdown cut into messages of
 * at most 2,000 characters (split.ts). Mentions in answers never ping anyone (`allowed_mentions`).
 */
import type { API } from "@discordjs/core"
import type { ReplyItem, ReplySurface, SurfaceFailure } from "../contract.ts"
import { toolLine } from "../stream.ts"
import { MESSAGE_LIMIT, split } from "./split.ts"

/** The REST error's Discord code (10008 Unknown Message, 50035 Invalid Form Body), if any. */
export const codeOf = (error: unknown): number | undefined =>
  typeof (error as { code?: unknown })?.code === "number" ? (error as { code: number }).code : undefined

/** The final answer: text as Markdown, consecutive tool lines as italic lines. */
export function finalText(items: ReplyItem[], note?: string): string {
  const out: string[] = []
  let tools: string[] = []
  const flush = () => {
    if (tools.length) out.push(tools.map((line) => `*${line}*`).join("\n"))
    tools = []
  }
  for (const item of items) {
    if (item.kind === "tool") tools.push(toolLine(item))
    else if (item.text.trim()) {
      flush()
      out.push(item.text.trim())
    }
  }
  flush()
  if (note) out.push(`*${note}*`)
  return out.join("\n\n")
}

export function discordSurface(api: API, channelId: string, editIntervalMs: number): ReplySurface {
  const content = (chunk: { formatted: string; plain: string }, formatted: boolean) =>
    formatted ? chunk.formatted : chunk.plain
  return {
    limits: { messageChars: MESSAGE_LIMIT, editIntervalMs, format: "discord-markdown", edits: true },
    async post(chunk, options) {
      const sent = await api.channels.createMessage(channelId, {
        content: content(chunk, options.formatted),
        allowed_mentions: { parse: [] },
        ...(options.replyTo ? { message_reference: { message_id: options.replyTo, fail_if_not_exists: false } } : {}),
      })
      return { id: sent.id }
    },
    async edit(message, chunk, options) {
      await api.channels.editMessage(channelId, message.id, { content: content(chunk, options.formatted) })
    },
    async typing() {
      await api.channels.showTyping(channelId)
    },
    render(items, note) {
      return split(finalText(items, note)).map((piece) => ({ formatted: piece, plain: piece }))
    },
    classify(error): SurfaceFailure {
      return codeOf(error) === 10008 ? "missing" : "other"
    },
  }
}
