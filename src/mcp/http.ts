/**
 * The MCP streamable HTTP transport, stateful: `initialize` (a POST without `Mcp-Session-Id`) opens an
 * MCP session with its own `Server` and transport; later POSTs carry the id the answer gave, GET opens
 * the session's server-to-client event stream and DELETE ends it. A cancelled request
 * (notifications/cancelled) reaches the same server, so it aborts the turn it started.
 *
 * Sessions live in memory (a gateway restart ends them; clients initialize again on the 404). At most
 * MAX_SESSIONS are kept: a new one pushes out the least recently used; one idle for IDLE_MS is closed
 * when the next one opens. Authentication, the Host check and the body's bounds come before this, in
 * the Control API's front door (src/api).
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { Gateway } from "../gateway/gateway.ts"
import type { Logger } from "../util/log.ts"
import { createMcpServer } from "./server.ts"

export const MAX_SESSIONS = 64
export const IDLE_MS = 30 * 60_000

interface Entry {
  server: Server
  transport: WebStandardStreamableHTTPServerTransport
  seen: number
}

export interface McpHttp {
  handle(request: Request): Promise<Response>
  /** MCP sessions open now. */
  size(): number
  /** End every session (the gateway is stopping): open event streams end, later requests get 404. */
  close(): Promise<void>
}

const OPENING = new TextEncoder().encode(": stream open\n\n")

/**
 * The session's event stream with an SSE comment first: Bun sends a streamed response's headers with
 * its first bytes, and the transport's first bytes would otherwise be the keep-alive 15 s later, so
 * the client would not know the stream is open (notifications sent meanwhile are not lost, but the
 * client cannot tell it is listening).
 */
function primed(response: Response): Response {
  if (!response.ok || !response.body || !response.headers.get("content-type")?.startsWith("text/event-stream"))
    return response
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  void writer.write(OPENING)
  writer.releaseLock()
  void response.body.pipeTo(writable).catch(() => {})
  return new Response(readable, { status: response.status, headers: response.headers })
}

const rpcError = (status: number, code: number, message: string) =>
  Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status })

export function createMcpHttp(gw: Gateway, log: Logger, now: () => number = Date.now): McpHttp {
  const sessions = new Map<string, Entry>()

  const end = async (id: string) => {
    const entry = sessions.get(id)
    if (!entry) return
    sessions.delete(id)
    await entry.transport.close().catch(() => {})
    await entry.server.close().catch(() => {})
  }

  /** Room for one more: idle sessions go, then the least recently used one when still full. */
  const makeRoom = async () => {
    for (const [id, entry] of sessions) if (now() - entry.seen > IDLE_MS) await end(id)
    while (sessions.size >= MAX_SESSIONS) {
      const [oldest] = [...sessions.entries()].sort((a, b) => a[1].seen - b[1].seen)[0]!
      log.info("mcp session closed to make room", { session: oldest })
      await end(oldest)
    }
  }

  return {
    async handle(request) {
      const id = request.headers.get("mcp-session-id")
      if (id) {
        const entry = sessions.get(id)
        if (!entry)
          return rpcError(
            404,
            -32001,
            "unknown or expired MCP session; initialize a new one (POST without Mcp-Session-Id)",
          )
        entry.seen = now()
        const response = await entry.transport.handleRequest(request)
        return request.method === "GET" ? primed(response) : response
      }
      if (request.method !== "POST")
        return rpcError(
          400,
          -32000,
          `${request.method} /mcp needs an Mcp-Session-Id header; open a session with an initialize request (POST) first`,
        )
      await makeRoom()
      const server = createMcpServer(gw)
      const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => `mcps_${crypto.randomUUID().replaceAll("-", "")}`,
        onsessioninitialized(sessionId) {
          sessions.set(sessionId, { server, transport, seen: now() })
          log.info("mcp session opened", { session: sessionId })
        },
        onsessionclosed(sessionId) {
          sessions.delete(sessionId)
          log.info("mcp session ended by the client", { session: sessionId })
        },
      })
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId)
      }
      server.onerror = (error) => log.debug("mcp protocol error", { error: error.message })
      await server.connect(transport)
      const response = await transport.handleRequest(request)
      // Not an initialize request (or a failed one): nothing was registered, drop the pair.
      if (!transport.sessionId || !sessions.has(transport.sessionId)) {
        void transport.close().catch(() => {})
        void server.close().catch(() => {})
      }
      return response
    },
    size: () => sessions.size,
    async close() {
      await Promise.all([...sessions.keys()].map(end))
    },
  }
}
