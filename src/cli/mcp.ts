/**
 * `drost mcp serve`: Drost as an MCP server on stdio, for MCP clients that start a command (Claude
 * Desktop, editors). It is a bridge to the workspace's running gateway (its `/mcp` endpoint, src/mcp/
 * bridge.ts) rather than a gateway of its own: one gateway owns the database and the lock, and turns
 * run where the channels, schedules and approvals are. So a gateway must be running; without one the
 * command says so in one line and exits 1 before it reads anything.
 *
 * Stdout carries only the protocol; problems go to stderr.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { defineCommand } from "citty"
import { DrostError } from "../core/error.ts"
import { findConfig, load } from "../gateway/load.ts"
import { tokenFile } from "../gateway/token.ts"
import { bridge } from "../mcp/bridge.ts"
import { Flag } from "../util/flag.ts"
import { fail } from "./exit.ts"

interface Where {
  workspace?: string
  config?: string
  url?: string
}

/** The gateway's base URL and admin token (if one is found), from the flags, the environment and the workspace. */
async function endpoint(args: Where): Promise<{ url: string; token: string | undefined; file: string }> {
  const root = resolve(args.workspace ?? Flag.workspace() ?? process.cwd())
  const config = findConfig(root) || args.config ? await load({ root, file: args.config }) : null
  const port = config?.controlApi.port ?? 7420
  const host = config?.controlApi.host ?? "127.0.0.1"
  const url = args.url ?? (port === 0 ? null : `http://${host.includes(":") ? `[${host}]` : host}:${port}`)
  if (!url)
    throw new DrostError(
      "NoUrl",
      "controlApi.port is 0 (a free port picked at start); pass --url http://127.0.0.1:<port> from the gateway's start line",
    )
  const file = tokenFile(config?.stateDir ?? join(root, ".drost"))
  const token =
    Flag.controlAdminToken() ??
    config?.controlApi.token ??
    (existsSync(file) ? readFileSync(file, "utf8").trim() : undefined)
  return { url: url.replace(/\/+$/, ""), token, file }
}

/**
 * Requests before the protocol starts, so "no gateway", "no token" and "wrong token" are one line on
 * stderr and exit 1 instead of a JSON-RPC error the client may not show.
 */
async function probe(target: { url: string; token: string | undefined; file: string }): Promise<string> {
  const ask = (path: string, token?: string) =>
    fetch(`${target.url}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    }).catch((error: Error & { code?: string }) => {
      throw new DrostError(
        "NoGateway",
        `no gateway answers at ${target.url} (${error.code ?? error.message}); start it with drost start, or pass --url`,
      )
    })
  await (await ask("/healthz")).body?.cancel()
  const { token } = target
  if (!token)
    throw new DrostError(
      "NoToken",
      `no Control API token: set DROST_CONTROL_ADMIN_TOKEN, or run in the gateway's workspace (${target.file}), or pass --workspace`,
    )
  const response = await ask("/control/v1/status", token)
  await response.body?.cancel()
  if (response.status === 401)
    throw new DrostError(
      "Unauthorized",
      `the gateway at ${target.url} refused the token; use its admin token (DROST_CONTROL_ADMIN_TOKEN or .drost/control-token)`,
    )
  if (!response.ok)
    throw new DrostError("Remote", `the gateway at ${target.url} answered ${response.status} to /status`)
  return token
}

const serveCommand = defineCommand({
  meta: {
    name: "serve",
    description:
      "Serve MCP on stdin/stdout by bridging to the running gateway's /mcp (needs a running gateway; see docs/mcp.md)",
  },
  args: {
    workspace: {
      type: "string",
      alias: "w",
      description: "Workspace of the running gateway (default: DROST_WORKSPACE or the current folder)",
    },
    config: {
      type: "string",
      alias: "c",
      description: "Config file (default: the first drost.config.* in the workspace)",
    },
    url: {
      type: "string",
      description:
        "The gateway's base URL, e.g. http://127.0.0.1:7420 (default: controlApi.host and port from the config); the admin token comes from DROST_CONTROL_ADMIN_TOKEN, the config or .drost/control-token",
    },
  },
  async run({ args }) {
    const target = await endpoint(args).catch(fail)
    const token = await probe(target).catch(fail)
    await bridge({ url: target.url, token }).catch(fail)
    process.exit(0)
  },
})

export const mcpCommand = defineCommand({
  meta: { name: "mcp", description: "Drost as an MCP server for MCP clients (stdio here; HTTP at /mcp)" },
  subCommands: { serve: serveCommand },
})
