/**
 * `drost mcp serve`: MCP over stdio, as a bridge to the running gateway's `/mcp`. Every JSON-RPC
 * message read from stdin is sent to the gateway over streamable HTTP (with the admin token), and
 * everything the gateway sends back is written to stdout. So one gateway owns the database, turns
 * run where the channels and approvals are, and both transports are the same server: nothing here
 * knows a tool.
 *
 * A request the gateway cannot be asked (it stopped, the token was refused) is answered on stdout
 * with a JSON-RPC error naming the cause, so the client never waits for nothing. At the end of stdin
 * the answers still owed are awaited (bounded by `drainMs`), then the MCP session is ended (DELETE).
 */
import type { Readable, Writable } from "node:stream"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import {
  type InitializeResult,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js"

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

export async function bridge(options: BridgeOptions): Promise<void> {
  const stdin = options.stdin ?? process.stdin
  const report = options.report ?? ((line: string) => process.stderr.write(`drost mcp: ${line}\n`))
  const endpoint = new URL("/mcp", options.url)
  const remote = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { authorization: `Bearer ${options.token}` } },
  })
  const local = new StdioServerTransport(stdin, options.stdout ?? process.stdout)
  /** Requests sent on and not answered yet. */
  const owed = new Set<RequestId>()
  const initializing = new Set<RequestId>()
  let settled: () => void = () => {}

  const answered = (id: RequestId) => {
    owed.delete(id)
    if (owed.size === 0) settled()
  }

  local.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message)) {
      owed.add(message.id)
      if (message.method === "initialize") initializing.add(message.id)
    }
    remote.send(message).catch((error: Error) => {
      const text = `the gateway at ${options.url} did not take the message: ${error.message}`
      if (!isJSONRPCRequest(message)) return report(text)
      answered(message.id)
      void local.send({ jsonrpc: "2.0", id: message.id, error: { code: -32603, message: text } })
    })
  }
  remote.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id))
      remote.setProtocolVersion((message.result as InitializeResult).protocolVersion)
    void local.send(message)
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message))
      if (message.id !== undefined) answered(message.id)
  }
  remote.onerror = (error) => report(error.message)
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
