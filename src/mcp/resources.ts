/**
 * Sessions as MCP resources: `drost://sessions/{id}`, listed newest activity first (a page per
 * cursor), read as a Markdown transcript plus the raw messages as JSON. A client is told when the
 * list changes (a session created or deleted) and, for the sessions it subscribed to, when one gets
 * a message; the notifications go on the MCP session's event stream (GET /mcp; stdout over stdio).
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { SessionEvent } from "../agent/events.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { transcript } from "./agent-tools.ts"

export const TEMPLATE = "drost://sessions/{id}"
const PREFIX = "drost://sessions/"
const PAGE = 50

export const uriOf = (id: string) => `${PREFIX}${id}`

export async function listResources(gw: Gateway, cursor: string | undefined) {
  const offset = cursor === undefined ? 0 : Number(cursor)
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`invalid cursor "${cursor}"`)
  const page = await gw.data.sessions.page({ limit: PAGE, offset })
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

/** The session id a resource URI names, or null. */
export function sessionOf(uri: string): string | null {
  if (!uri.startsWith(PREFIX)) return null
  const id = decodeURIComponent(uri.slice(PREFIX.length))
  return id || null
}

/**
 * Resource notifications for one MCP session's server: list changes always, updates for subscribed
 * sessions. Returns the subscription set the subscribe handlers fill; the bus listeners end with the
 * server (its connection closed).
 */
export function watchResources(gw: Gateway, server: Server): Set<string> {
  const subscribed = new Set<string>()
  const quiet = (sent: Promise<void>) => void sent.catch(() => {}) // not connected (yet, or any more)
  const stops = [
    gw.bus.subscribe(SessionEvent.Created, () => quiet(server.sendResourceListChanged())),
    gw.bus.subscribe(SessionEvent.Deleted, (event) => {
      subscribed.delete(event.data.sessionId)
      quiet(server.sendResourceListChanged())
    }),
    gw.bus.subscribe(SessionEvent.Message, (event) => {
      if (subscribed.has(event.data.sessionId)) quiet(server.sendResourceUpdated({ uri: uriOf(event.data.sessionId) }))
    }),
  ]
  const previous = server.onclose
  server.onclose = () => {
    previous?.()
    for (const stop of stops) stop()
    subscribed.clear()
  }
  return subscribed
}

/** The resource's contents, or null when the URI names no session (the server answers "not found"). */
export async function readResource(gw: Gateway, uri: string) {
  const id = sessionOf(uri)
  const session = id === null ? null : await gw.data.sessions.get(id)
  if (!session || id === null) return null
  const messages = await gw.data.sessions.messages(id, { limit: 200 })
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
