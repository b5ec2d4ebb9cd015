/**
 * `drost mcp serve`: Drost as an MCP server on stdio, for MCP clients that start a command (Claude
 * Desktop, editors). It is a bridge to the workspace's running gateway (its `/mcp` endpoint, src/mcp/
 * bridge.ts) rather than a gateway of its own: one gateway owns the database and the lock, and turns
 * run where the channels, schedules and approvals are. So a gateway must be running; without one the
 * command says so in one line and exits 1 before it reads anything.
 *
 * Stdout carries only the protocol; problems go to stderr.
 */
import { defineCommand } from "citty"
import { DrostError } from "../core/error.ts"
import { bridge } from "../mcp/bridge.ts"
import { fail } from "./exit.ts"
import { connect, where } from "./reach.ts"

/**
 * Requests before the protocol starts, so "no gateway" and "wrong token" are one line on stderr and
 * exit 1 instead of a JSON-RPC error the client may not show.
 */
async function probe(url: string, token: string): Promise<void> {
  const response = await fetch(`${url}/control/v1/status`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  }).catch((error: Error & { code?: string }) => {
    throw new DrostError(
      "NoGateway",
      `no gateway answers at ${url} (${error.code ?? error.message}); start it with drost start, or pass --url`,
    )
  })
  await response.body?.cancel()
  if (response.status === 401)
    throw new DrostError(
      "Unauthorized",
      `the gateway at ${url} refused the token; use its admin token (DROST_CONTROL_ADMIN_TOKEN or .drost/control-token)`,
    )
  if (!response.ok) throw new DrostError("Remote", `the gateway at ${url} answered ${response.status} to /status`)
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
    // The workspace's running gateway (its lock, its config's port, its token), as for drost status.
    const { url, token } = await connect(where(args)).catch(fail)
    await probe(url, token).catch(fail)
    await bridge({ url, token }).catch(fail)
    process.exit(0)
  },
})

export const mcpCommand = defineCommand({
  meta: { name: "mcp", description: "Drost as an MCP server for MCP clients (stdio here; HTTP at /mcp)" },
  subCommands: { serve: serveCommand },
})
