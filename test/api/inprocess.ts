/**
 * A real gateway and Control API server in this test process (no child), for tests that need to drive
 * the bus directly or tune server options (keepalive interval). Talks real HTTP on 127.0.0.1.
 */
import { serveApi } from "../../src/api/server.ts"
import type { EventsOptions } from "../../src/api/events.ts"
import { type Gateway, startGateway } from "../../src/gateway/gateway.ts"
import { resolveConfig } from "../../src/gateway/load.ts"
import { resolveTokens } from "../../src/gateway/token.ts"
import { demoConfig } from "../lib/config.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

export interface InProcess extends AsyncDisposable {
  gw: Gateway
  ws: Workspace
  url: string
  token: string
  fetch(path: string, init?: RequestInit): Promise<Response>
}

export async function inProcess(extra: Record<string, unknown> = {}, events: EventsOptions = {}): Promise<InProcess> {
  const ws = await workspace()
  const config = resolveConfig(demoConfig(extra), ws.path, null)
  const gw = await startGateway(config)
  const tokens = resolveTokens(config)
  const server = serveApi(gw, tokens, { events })
  return {
    gw,
    ws,
    url: server.url,
    token: tokens.admin,
    fetch(path, init = {}) {
      const headers = new Headers(init.headers)
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${tokens.admin}`)
      return fetch(`${server.url}${path}`, { ...init, headers })
    },
    async [Symbol.asyncDispose]() {
      await gw.drain("test over")
      await server.stop()
      await gw.stop("test over")
      await ws[Symbol.asyncDispose]()
    },
  }
}
