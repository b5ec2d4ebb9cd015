/**
 * Sessions as MCP resources: `drost://sessions/{id}`, listed newest activity first (a page per
 * cursor), read as a Markdown transcript plus the raw messages as JSON.
 */
import type { Gateway } from "../gateway/gateway.ts"
import { transcript } from "./agent-tools.ts"

export const TEMPLATE = "drost://sessions/{id}"
const PREFIX = "drost://sessions/"
const PAGE = 50

export const uriOf = (id: string) => `${PREFIX}${id}`

export function listResources(gw: Gateway, cursor: string | undefined) {
  const offset = cursor === undefined ? 0 : Number(cursor)
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`invalid cursor "${cursor}"`)
  const page = gw.store.page({ limit: PAGE, offset })
  const next = offset + page.sessions.length
  return {
    resources: page.sessions.map((session) => ({
      uri: uriOf(session.id),
      name: session.id,
      title: session.title,
      description: `${session.channel ?? "session"}, ${session.messageCount} messages, last active ${new Date(session.updatedAt).toISOString()}`,
      mimeType: "text/markdown",
    })),
    ...(next < page.total ? { nextCursor: String(next) } : {}),
  }
}

export const templates = () => ({
  resourceTemplates: [
    {
      uriTemplate: TEMPLATE,
      name: "session",
      title: "A Drost session",
      description: "A session's last 200 messages: a Markdown transcript and the messages as JSON",
      mimeType: "text/markdown",
    },
  ],
})

/** The resource's contents, or null when the URI names no session (the server answers "not found"). */
export function readResource(gw: Gateway, uri: string) {
  if (!uri.startsWith(PREFIX)) return null
  const id = decodeURIComponent(uri.slice(PREFIX.length))
  const session = gw.store.get(id)
  if (!session) return null
  const messages = gw.store.messages(id, { limit: 200 })
  return {
    contents: [
      {
        uri,
        mimeType: "text/markdown",
        text: `# ${session.title}\n\n${session.id} · ${session.channel ?? "-"} · ${session.messageCount} messages\n\n${transcript(messages)}\n`,
      },
      {
        uri: `${uri}#messages`,
        mimeType: "application/json",
        text: JSON.stringify({ session, messages }),
      },
    ],
  }
}
