/**
 * `/mcp`: Drost as an MCP server over streamable HTTP (src/mcp/http.ts). It sits behind the same front
 * door as the rest of the Control API: the Host check (server.ts), the bearer token and the rate
 * limit (app.ts: every MCP message is a POST, so it needs the admin token and counts as a change), the
 * body's bounds (body.ts; the transport reads the body itself, so Elysia must not parse it).
 *
 * The transport specification also asks servers to check `Origin` (DNS rebinding through a browser):
 * a request that carries one must come from a page on a name the Host check accepts.
 * Hidden from the OpenAPI document: it is JSON-RPC, described by the MCP specification and docs/mcp.md.
 */
import { Elysia } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import type { McpHttp } from "../mcp/http.ts"
import { Log } from "../util/log.ts"
import { problem } from "./errors.ts"
import { type HostPolicy, hostName, hostPolicy, isLoopbackName } from "./host.ts"

export const MCP_PATH = "/mcp"

function refuseOrigin(request: Request, policy: HostPolicy): Response | null {
  const origin = request.headers.get("origin")
  if (origin === null) return null
  let name: string | null = null
  try {
    name = hostName(new URL(origin).host)
  } catch {
    name = null
  }
  if (name !== null && (isLoopbackName(name) || policy.names.has(name))) return null
  return problem(
    403,
    "Forbidden",
    `MCP requests from the web page ${JSON.stringify(origin.slice(0, 100))} are refused; only pages on loopback or controlApi.allowedHosts may call /mcp`,
  )
}

/** `closers` gets the function that ends every MCP session when the server stops. */
export function mcpRoutes(gw: Gateway, closers?: Set<() => void>) {
  // The MCP server (the SDK with its Ajv and Zod) loads with the first request to /mcp, not at every
  // start: loaded eagerly it was about a fifth of a cold start's CPU for gateways no MCP client uses.
  let mcp: Promise<McpHttp> | null = null
  const server = () =>
    (mcp ??= import("../mcp/http.ts").then(({ createMcpHttp }) => createMcpHttp(gw, Log.create("mcp"))))
  closers?.add(() => void mcp?.then((loaded) => loaded.close()))
  const policy = hostPolicy(gw.config.controlApi.host, gw.config.controlApi.allowedHosts ?? [])
  const handle = async ({ request }: { request: Request }) =>
    refuseOrigin(request, policy) ?? (await server()).handle(request)
  const hook = { parse: "none" as const, detail: { hide: true } }
  return new Elysia().post(MCP_PATH, handle, hook).get(MCP_PATH, handle, hook).delete(MCP_PATH, handle, hook)
}
