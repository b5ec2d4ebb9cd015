/**
 * A streamable-HTTP MCP server on 127.0.0.1 built from the SDK's own web-standard server transport
 * (stateful: a session per client, as real servers keep them). `restart()` drops every session and
 * listens again on the same port, like a server process that was restarted; `stop()` takes it away.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { z } from "zod"

export interface FakeMcpHttp {
  url: string
  port: number
  /** Sessions opened so far, over every restart. */
  sessions(): number
  restart(): void
  stop(): void
}

export function fakeMcpHttp(): FakeMcpHttp {
  let opened = 0
  let sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
  const handle = async (request: Request): Promise<Response> => {
    const id = request.headers.get("mcp-session-id")
    const known = id ? sessions.get(id) : undefined
    if (known) return known.handleRequest(request)
    if (id)
      return Response.json(
        { jsonrpc: "2.0", error: { code: -32000, message: "Bad Request: No valid session ID provided" }, id: null },
        { status: 400 },
      )
    const table = sessions
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (sid) => {
        opened++
        table.set(sid, transport)
      },
    })
    const server = new McpServer({ name: "fake-http", version: "1.0.0" })
    server.registerTool("echo", { description: "Echo the text", inputSchema: { text: z.string() } }, ({ text }) => ({
      content: [{ type: "text", text: `echo: ${text}` }],
    }))
    await server.connect(transport)
    return transport.handleRequest(request)
  }
  let http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle })
  const port = http.port!
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    sessions: () => opened,
    restart() {
      http.stop(true)
      sessions = new Map()
      http = Bun.serve({ hostname: "127.0.0.1", port, fetch: handle })
    },
    stop() {
      http.stop(true)
    },
  }
}
