/**
 * A Slack conversation as the shared reply streamer (src/channels/stream.ts) drives it: a ReplySurface
 * that posts with `chat.postMessage` (in the thread, for a channel conversation) and edits with
 * `chat.update`. The streamed preview is the plain text escaped for mrkdwn (so nothing the model writes
 * becomes `<!channel>` or a link); the final answer is the Markdown rendered to mrkdwn and split at
 * 3,900 characters (Slack shows longer texts truncated), tool lines in italics. Rate limits: every
 * write goes through the Slack channel's pacer, and the Web API client waits out a 429's Retry-After.
 */
import type { WebClient } from "@slack/web-api"
import type { ReplyItem, ReplySurface, SurfaceFailure } from "../contract.ts"
import { toolLine } from "../stream.ts"
import { escapeMrkdwn, splitMrkdwn, toMrkdwn } from "./mrkdwn.ts"

export const MESSAGE_LIMIT = 3_900

/** The final answer as mrkdwn messages: text rendered, consecutive tool lines as one italic block. */
export function finalMessages(items: ReplyItem[], note?: string): string[] {
  const parts: string[] = []
  let tools: string[] = []
  const flushTools = () => {
    if (tools.length) parts.push(tools.map((line) => `_${escapeMrkdwn(line)}_`).join("\n"))
    tools = []
  }
  for (const item of items) {
    if (item.kind === "tool") tools.push(toolLine(item))
    else if (item.text.trim()) {
      flushTools()
      parts.push(toMrkdwn(item.text))
    }
  }
  flushTools()
  if (note) parts.push(`_${escapeMrkdwn(note)}_`)
  return splitMrkdwn(parts.join("\n\n"), MESSAGE_LIMIT)
}

/** Slack's error code of a failed Web API call, if it was one. */
export const slackError = (error: unknown): string | undefined => (error as { data?: { error?: string } }).data?.error

export function createSlackSurface(deps: {
  web: WebClient
  channel: string
  threadTs?: string
  editIntervalMs: number
}): ReplySurface {
  const { web, channel } = deps
  const thread = deps.threadTs ? { thread_ts: deps.threadTs } : {}
  const wire = (chunk: { formatted: string; plain: string }, formatted: boolean) =>
    formatted ? chunk.formatted : escapeMrkdwn(chunk.plain)
  return {
    limits: { messageChars: MESSAGE_LIMIT, editIntervalMs: deps.editIntervalMs, format: "slack-mrkdwn", edits: true },
    async post(chunk, options) {
      const sent = await web.chat.postMessage({ channel, text: wire(chunk, options.formatted), ...thread })
      return { id: String(sent.ts) }
    },
    async edit(message, chunk, options) {
      await web.chat.update({ channel, ts: message.id, text: wire(chunk, options.formatted) })
    },
    render(items, note) {
      return finalMessages(items, note).map((piece) => ({ formatted: piece, plain: piece }))
    },
    classify(error): SurfaceFailure {
      const code = slackError(error)
      if (code === "message_not_found" || code === "cant_update_message") return "missing"
      if (code === "invalid_blocks" || code === "invalid_blocks_format") return "format-rejected"
      return "other"
    },
    escape: escapeMrkdwn,
  }
}
