/**
 * `drost mcp serve`: MCP over stdio, as a bridge to the running gateway's `/mcp`. Every JSON-RPC
 * message read from stdin is sent to the gateway over streamable HTTP (with the admin token), and
 * everything the gateway sends back is written to stdout. So one gateway owns the database, turns
 * run where the channels and approvals are, and both transports are the same server: nothing here
 * knows a tool.
 *
 * The gateway restarts (`drost restart`, an evolution, a crash under the supervisor) while the MCP
 * client keeps this process: a message that finds no gateway is retried for up to RETRY_MS, and one
 * the new gateway answers 404 (the MCP session died with the old process) makes the bridge open a
 * new MCP session with the client's own `initialize` and send the message again. Requests still owed
 * by the old session will never be answered: they get an error saying so. Anything else the gateway
 * refuses (a wrong token) is answered on stdout as a JSON-RPC error naming the cause, so the client
 * never waits for nothing. At the end of stdin the answers still owed are awaited (bounded by
 * `drainMs`), then the MCP session is ended (DELETE).
 */
import type { Readable, Writable } from "node:stream"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import {
  type InitializeResult,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js"

/** How long a message waits for a gateway that is not answering (a restart takes about a second). */
export const RETRY_MS = 30_000

export interface BridgeOptions {
  /** The gateway's base URL (http://127.0.0.1:7420). */
  url: string
  token: string
  stdin?: Readable
  stdout?: Writable
  /** One line per problem (stderr: stdout carries the protocol). */
  report?: (line: string) => void
  /** How long answers still owed are awaited after stdin ends. */
  drainMs?: number
}

/** fetch could not reach the gateway at all (refused, reset): worth waiting for a restart. */
const unreachable = (error: unknown) =>
  !(error instanceof StreamableHTTPError) &&
  error instanceof Error &&
  /ECONNREFUSED|ECONNRESET|Unable to connect|socket|fetch failed/i.test(
    `${(error as { code?: string }).code} ${error.message}`,
  )

export async function bridge(options: BridgeOptions): Promise<void> {
  const stdin = options.stdin ?? process.stdin
  const report = options.report ?? ((line: string) => process.stderr.write(`drost mcp: ${line}\n`))
  const endpoint = new URL("/mcp", options.url)
  const local = new StdioServerTransport(stdin, options.stdout ?? process.stdout)
  /** Requests sent on and not answered yet, with the MCP session (transport) that carries them. */
  const owed = new Map<RequestId, StreamableHTTPClientTransport>()
  /** Requests whose POST has not been accepted yet (they are retried, never given up for a restart). */
  const sending = new Set<RequestId>()
  /** The client's own initialize, replayed to open a new MCP session after a gateway restart. */
  let handshake: JSONRPCRequest | null = null
  /** Answers the bridge waits for itself (a replayed initialize), by request id. */
  const internal = new Map<RequestId, (message: JSONRPCMessage) => void>()
  let sequence = 0
  let settled: () => void = () => {}

  const answered = (id: RequestId) => {
    owed.delete(id)
    if (owed.size === 0) settled()
  }
  const refuse = (id: RequestId, text: string) => {
    answered(id)
    void local.send({ jsonrpc: "2.0", id, error: { code: -32603, message: text } })
  }

  const open = () => {
    const transport = new StreamableHTTPClientTransport(endpoint, {
      requestInit: { headers: { authorization: `Bearer ${options.token}` } },
    })
    transport.onmessage = (message: JSONRPCMessage) => {
      const id = "id" in message ? message.id : undefined
      const waiter = id === undefined ? undefined : internal.get(id)
      if (waiter) return waiter(message)
      if (transport !== remote) return
      if (isJSONRPCResultResponse(message) && handshake && message.id === handshake.id)
        transport.setProtocolVersion((message.result as InitializeResult).protocolVersion)
      void local.send(message)
      if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && id !== undefined) answered(id)
    }
    transport.onerror = (error) => {
      // A closed session's event stream failing, or a restart in progress: the next message tells.
      if (transport === remote && !unreachable(error) && !(error instanceof StreamableHTTPError && error.code === 404))
        report(error.message)
    }
    return transport
  }
  let remote = open()

  /** A new MCP session on the (restarted) gateway, opened with the client's initialize; shared by concurrent callers. */
  let renewing: Promise<void> | null = null
  const renew = (stale: StreamableHTTPClientTransport) => {
    if (remote !== stale) return renewing ?? Promise.resolve()
    renewing ??= (async () => {
      const fresh = open()
      await fresh.start()
      const id = `drost-bridge-${++sequence}`
      const answer = new Promise<JSONRPCMessage>((resolve) => internal.set(id, resolve))
      await fresh.send({ ...handshake!, id })
      const message = await answer.finally(() => internal.delete(id))
      if (!isJSONRPCResultResponse(message))
        throw new Error(`the restarted gateway refused initialize: ${JSON.stringify(message)}`)
      fresh.setProtocolVersion((message.result as InitializeResult).protocolVersion)
      await fresh.send({ jsonrpc: "2.0", method: "notifications/initialized" })
      remote = fresh
      void stale.close().catch(() => {})
      for (const [owedId, carrier] of owed)
        if (carrier === stale && !sending.has(owedId))
          refuse(
            owedId,
            "the gateway restarted while this request ran; its answer is lost (read_session shows what the turn did)",
          )
      report("the gateway restarted; opened a new MCP session")
    })().finally(() => {
      renewing = null
    })
    return renewing
  }

  const deliver = async (message: JSONRPCMessage) => {
    const id = isJSONRPCRequest(message) ? message.id : undefined
    const deadline = Date.now() + RETRY_MS
    if (id !== undefined) sending.add(id)
    try {
      for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
        const via = remote
        if (id !== undefined) owed.set(id, via)
        try {
          await via.send(message)
          return
        } catch (error) {
          const expired = error instanceof StreamableHTTPError && error.code === 404 && handshake !== null
          if (!(expired || unreachable(error)) || Date.now() > deadline) throw error
          if (expired) await renew(via)
          else await Bun.sleep(wait)
        }
      }
    } finally {
      if (id !== undefined) sending.delete(id)
    }
  }

  local.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message) && message.method === "initialize") handshake = message
    deliver(message).catch((error: Error) => {
      const text = `the gateway at ${options.url} did not take the message: ${error.message}`
      if (isJSONRPCRequest(message)) refuse(message.id, text)
      else report(text)
    })
  }
  local.onerror = (error) => report(`stdin: ${error.message}`)

  await remote.start()
  await local.start()
  await new Promise<void>((resolve) => {
    stdin.once("end", resolve)
    stdin.once("close", resolve)
    process.once("SIGTERM", resolve)
    process.once("SIGINT", resolve)
  })
  if (owed.size > 0)
    await new Promise<void>((resolve) => {
      settled = resolve
      setTimeout(resolve, options.drainMs ?? 600_000).unref()
    })
  await remote.terminateSession().catch(() => {})
  await remote.close().catch(() => {})
  await local.close().catch(() => {})
}
