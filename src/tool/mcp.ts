/**
 * MCP servers as tool sources. Each configured server is connected (stdio child or streamable HTTP),
 * its tools join the registry as `<server>.<tool>` with their own JSON Schemas, and a call is relayed
 * with the turn's abort signal. A server that goes away loses its tools, marks the gateway degraded
 * and is reconnected with exponential backoff.
 *
 * A stdio server is code the model can make do things, so it runs in the OS sandbox like the shell:
 * the workspace view (loaded code read-only, the state folder and .env hidden, nothing else of the
 * disk), its executable and absolute-path arguments read-only (a script inside `node_modules` brings
 * that `node_modules`), network only with `network: true`, and an explicit environment (PATH and what
 * the config lists), never ours. Where no sandbox works, stdio servers are not started.
 */
import { existsSync, realpathSync } from "node:fs"
import { dirname, isAbsolute, resolve, sep } from "node:path"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { McpServer } from "../core/tools-config.ts"
import { type Sandbox, SandboxUnavailable } from "../sandbox/sandbox.ts"
import { Flag } from "../util/flag.ts"
import type { Logger } from "../util/log.ts"
import type { Boundary } from "../workspace/boundary.ts"
import { viewSpec } from "../workspace/view.ts"
import { VERSION } from "../util/version.ts"
import { type Emit, ToolsEvent } from "./events.ts"
import type { RegisteredTool, ToolRegistry } from "./registry.ts"

export interface McpOptions {
  servers: Record<string, McpServer>
  workspace: string
  registry: ToolRegistry
  log: Logger
  emit?: Emit
  /** Report a server's health (null = healthy); the gateway turns it into `degraded`. */
  health(component: string, problem: string | null): void
  /** The OS sandbox stdio servers run in, and what they see of the workspace. */
  confine?: { sandbox: Sandbox; boundary: Boundary; read: string[]; write: string[] }
  /** First and largest reconnect delay. */
  backoff?: { initialMs: number; maxMs: number }
  connectTimeoutMs?: number
  /** How often an HTTP server is pinged to notice it died (default 15 s). */
  pingMs?: number
}

interface Connection {
  name: string
  client: Client | null
  transport: StdioClientTransport | StreamableHTTPClientTransport | null
  attempt: number
  timer: Timer | null
  /** HTTP servers only: the health ping (an HTTP server has no process whose exit tells us it died). */
  ping: Timer | null
  tools: string[]
  state: "connecting" | "connected" | "waiting" | "stopped"
  error: string | null
}

type Content = { type: string; text?: string; mimeType?: string; resource?: { uri?: string; text?: string } }

function toolName(server: string, name: string): string {
  return `${server}.${name.replace(/[^A-Za-z0-9_.-]/g, "_")}`.slice(0, 64)
}

function render(content: Content[] | undefined, structured: unknown): string {
  const parts = (content ?? []).map((item) => {
    if (item.type === "text") return item.text ?? ""
    if (item.type === "resource") return item.resource?.text ?? `[resource ${item.resource?.uri ?? ""}]`
    return `[${item.type}${item.mimeType ? ` ${item.mimeType}` : ""} content not shown]`
  })
  if (parts.length === 0 && structured !== undefined) return JSON.stringify(structured, null, 2)
  return parts.join("\n") || "(no output)"
}

/**
 * What a stdio server's command line needs to see besides the workspace: the executable and every
 * absolute path among its arguments that exists, read-only. A path inside `node_modules` brings the
 * outermost `node_modules` folder, where its dependencies are.
 */
export function visible(argv: string[]): string[] {
  const out = new Set<string>()
  const folder = (path: string) => {
    const at = path.indexOf(`${sep}node_modules${sep}`)
    return at >= 0 ? path.slice(0, at + "/node_modules".length) : path
  }
  for (const item of argv) {
    if (!isAbsolute(item) || !existsSync(item)) continue
    const real = realpathSync(item)
    out.add(folder(real))
    // Reached through a symlink (node_modules/.bin/x, a linked node_modules): the spelling used must
    // resolve inside too, and a runtime's package folder must be there.
    if (item !== real) {
      out.add(folder(item))
      if (!real.includes(`${sep}node_modules${sep}`)) out.add(dirname(real))
    }
  }
  return [...out]
}

type Sdk = {
  McpError: new (...args: never[]) => Error & { code: number }
  ErrorCode: { ConnectionClosed: number; RequestTimeout: number }
}

/** Whether a thrown error means the connection is gone rather than the server answering with an error. */
function transportFailure(sdk: Sdk, error: unknown): boolean {
  if (!(error instanceof sdk.McpError)) return true
  return error.code === sdk.ErrorCode.ConnectionClosed || error.code === sdk.ErrorCode.RequestTimeout
}

export function createMcp(options: McpOptions) {
  const connections = new Map<string, Connection>()
  const backoff = options.backoff ?? { initialMs: 1000, maxMs: 30_000 }
  let stopping = false
  const group = (name: string) => `mcp:${name}`

  // The MCP SDK is loaded on first use: a gateway (or CLI command) without MCP servers never pays for it.
  const sdk = async () => {
    const [client, stdio, http, types] = await Promise.all([
      import("@modelcontextprotocol/sdk/client/index.js"),
      import("@modelcontextprotocol/sdk/client/stdio.js"),
      import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
      import("@modelcontextprotocol/sdk/types.js"),
    ])
    return {
      McpError: types.McpError,
      ErrorCode: types.ErrorCode,
      Client: client.Client,
      StdioClientTransport: stdio.StdioClientTransport,
      StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    }
  }

  const transportFor = async (
    name: string,
    server: McpServer,
    { StdioClientTransport, StreamableHTTPClientTransport }: Awaited<ReturnType<typeof sdk>>,
  ) => {
    if ("url" in server)
      return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.headers ?? {} } })
    const self = server.command === "bun" || server.command === "drost"
    const env: Record<string, string> = { PATH: Flag.get("PATH") ?? "/usr/bin:/bin" }
    if (self) env.BUN_BE_BUN = "1" // in the compiled binary, the runtime itself plays `bun`
    const command = self ? process.execPath : (Bun.which(server.command) ?? server.command)
    const args = server.args ?? []
    const cwd = server.cwd ? resolve(options.workspace, server.cwd) : options.workspace
    let argv = [command, ...args]
    let childEnv = { ...env, ...(server.env ?? {}) }
    if (options.confine) {
      const { sandbox, boundary, read, write } = options.confine
      const spec = viewSpec(
        { boundary, read: [...read, ...visible([command, ...args])], write },
        cwd,
        childEnv,
        server.network ?? false,
      )
      const wrapped = await sandbox.command(spec, argv)
      argv = wrapped.argv
      childEnv = wrapped.env
    }
    const transport = new StdioClientTransport({
      command: argv[0]!,
      args: argv.slice(1),
      env: childEnv,
      cwd,
      stderr: "pipe",
    })
    transport.stderr?.on("data", (chunk: Buffer) =>
      options.log.info(`[mcp ${name}] ${chunk.toString().trimEnd().slice(0, 500)}`),
    )
    return transport
  }

  const lost = (conn: Connection, reason: string) => {
    if (conn.state === "stopped" || conn.state === "waiting") return
    options.registry.setGroup(group(conn.name), [])
    if (conn.ping) clearInterval(conn.ping)
    conn.ping = null
    // An HTTP client keeps a session (and a GET stream) open on its own: end it before a new one.
    const previous = conn.client
    conn.client = null
    if (previous) {
      previous.onclose = undefined
      void previous.close().catch(() => {})
    }
    conn.transport = null
    conn.tools = []
    conn.error = reason
    if (stopping) return
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(conn.attempt, 16))
    conn.attempt++
    conn.state = "waiting"
    options.registry.setRejected(group(conn.name), [
      { group: group(conn.name), file: `mcp server ${conn.name}`, reason: `${reason}; reconnecting in ${delay} ms` },
    ])
    options.health(`mcp:${conn.name}`, `${reason}; reconnecting in ${delay} ms`)
    options.emit?.(ToolsEvent.McpDisconnected, { server: conn.name, reason, retryInMs: delay })
    options.log.warn("mcp server lost", { server: conn.name, reason, retryInMs: delay })
    conn.timer = setTimeout(() => void connect(conn), delay)
  }

  async function connect(conn: Connection) {
    const server = options.servers[conn.name]!
    conn.state = "connecting"
    conn.timer = null
    const started = performance.now()
    const mod = await sdk()
    const client = new mod.Client({ name: "drost", version: VERSION })
    let transport: Awaited<ReturnType<typeof transportFor>> | null = null
    try {
      transport = await transportFor(conn.name, server, mod)
      conn.transport = transport
      await client.connect(transport, { timeout: options.connectTimeoutMs ?? 20_000 })
      const listed = await client.listTools(undefined, { timeout: options.connectTimeoutMs ?? 20_000 })
      if (stopping) {
        await client.close()
        return
      }
      const tools: RegisteredTool[] = listed.tools.map((tool) => {
        const { $schema: _, ...parameters } = (tool.inputSchema ?? { type: "object" }) as Record<string, unknown>
        return {
          name: toolName(conn.name, tool.name),
          description: tool.description ?? tool.title ?? `${tool.name} (MCP server ${conn.name})`,
          parameters,
          source: "mcp",
          file: `mcp:${conn.name}`,
          runner: `mcp:${conn.name}`,
          async execute(args, ctx) {
            if (!conn.client)
              throw new Error(`the MCP server ${conn.name} is not connected right now; try again shortly`)
            const current = conn.client
            const result = await current
              .callTool({ name: tool.name, arguments: args }, undefined, {
                signal: ctx.signal,
                timeout: 24 * 3600_000,
                resetTimeoutOnProgress: true,
              })
              .catch((error: unknown) => {
                // A tool's own error arrives as a result; a thrown error that is not the server's JSON-RPC
                // answer means the connection is gone (an HTTP server restarted: "No valid session ID").
                if (ctx.signal.aborted || !transportFailure(mod, error)) throw error
                const reason = `the server stopped answering (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`
                if (conn.client === current) lost(conn, reason)
                throw new Error(
                  `the MCP server ${conn.name} dropped the connection: ${reason}; reconnecting, call the tool again shortly`,
                )
              })
            const text = render(result.content as Content[] | undefined, result.structuredContent)
            if (result.isError) throw new Error(text)
            return text
          },
        }
      })
      conn.client = client
      conn.state = "connected"
      conn.attempt = 0
      conn.error = null
      client.onclose = () => lost(conn, "the server closed the connection")
      if ("url" in server) {
        const every = options.pingMs ?? 15_000
        conn.ping = setInterval(() => {
          if (conn.client !== client) return
          client.ping({ timeout: Math.min(every, 5_000) }).catch((error: unknown) => {
            if (conn.client === client)
              lost(
                conn,
                `the server stopped answering pings (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
              )
          })
        }, every)
        conn.ping.unref?.()
      }
      client.onerror = (error) => options.log.warn("mcp transport error", { server: conn.name, error: error.message })
      const rejected = options.registry.setGroup(group(conn.name), tools)
      conn.tools = tools.map((tool) => tool.name).filter((name) => !rejected.some((item) => item.name === name))
      options.health(`mcp:${conn.name}`, null)
      const durationMs = Math.round(performance.now() - started)
      options.emit?.(ToolsEvent.McpConnected, { server: conn.name, tools: conn.tools, durationMs })
      options.log.info("mcp server connected", { server: conn.name, tools: conn.tools.length, ms: durationMs })
    } catch (error) {
      await client.close().catch(() => {})
      if (error instanceof SandboxUnavailable) {
        // Not a failure to retry: this machine cannot confine the server, so it stays off.
        conn.state = "stopped"
        conn.error = `off: ${error.message}`
        options.registry.setRejected(group(conn.name), [
          { group: group(conn.name), file: `mcp server ${conn.name}`, reason: conn.error },
        ])
        options.log.warn("mcp server not started", { server: conn.name, reason: error.message })
        return
      }
      conn.state = "connecting" // let lost() schedule the retry
      lost(conn, `cannot connect: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`)
    }
  }

  return {
    /** Connect every server in the background; resolves when each has connected or failed once. */
    async start() {
      const all = Object.keys(options.servers).map((name) => {
        const conn: Connection = {
          name,
          client: null,
          transport: null,
          attempt: 0,
          timer: null,
          ping: null,
          tools: [],
          state: "connecting",
          error: null,
        }
        connections.set(name, conn)
        return connect(conn)
      })
      await Promise.all(all)
    },
    status: () =>
      [...connections.values()].map((conn) => ({
        server: conn.name,
        state: conn.state,
        tools: conn.tools,
        error: conn.error,
        pid: conn.transport && "pid" in conn.transport ? conn.transport.pid : null,
      })),
    async stop() {
      stopping = true
      await Promise.all(
        [...connections.values()].map(async (conn) => {
          if (conn.timer) clearTimeout(conn.timer)
          if (conn.ping) clearInterval(conn.ping)
          conn.state = "stopped"
          await conn.client?.close().catch(() => {})
          options.registry.setGroup(group(conn.name), [])
        }),
      )
    },
  }
}

export type Mcp = ReturnType<typeof createMcp>
