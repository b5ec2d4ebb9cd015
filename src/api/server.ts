/**
 * Starting the Control API server. One instance per port (`reusePort: false`, so a second gateway on
 * the same port fails loudly instead of silently sharing it), bound to 127.0.0.1 unless configured, and
 * never on a non-loopback address with only the generated local token: exposing the gateway to a
 * network needs a token the operator chose (controlApi.token or DROST_CONTROL_ADMIN_TOKEN).
 */
import { DrostError } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { Tokens } from "../gateway/token.ts"
import { type ApiOptions, createApi } from "./app.ts"

export interface ApiServer {
  url: string
  port: number
  stop(): Promise<void>
}

export function isLoopback(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name) || name === "::ffff:127.0.0.1"
}

/** A refusal the operator must fix (not a crash): the supervisor does not retry it. */
export class UnsafeBind extends DrostError {
  constructor(message: string) {
    super("UnsafeBind", message)
  }
}

export function serveApi(gw: Gateway, tokens: Tokens, options: ApiOptions = {}): ApiServer {
  const { host, port } = gw.config.controlApi
  if (!isLoopback(host) && tokens.file !== null)
    throw new UnsafeBind(
      `refusing to serve the Control API on ${host} (not loopback) without a configured token; set controlApi.token or DROST_CONTROL_ADMIN_TOKEN (16+ characters), or bind to 127.0.0.1`,
    )
  const open = new Set<() => void>()
  const app = createApi(gw, tokens, { ...options, events: { ...options.events, open } }).listen({
    hostname: host,
    port,
    reusePort: false,
    idleTimeout: 0,
  })
  const server = app.server
  if (!server) throw new Error("the server did not start")
  const shown = host.includes(":") ? `[${host}]` : host
  return {
    url: `http://${shown}:${server.port}`,
    port: server.port ?? port,
    /** End event streams, let in-flight responses (a turn's last SSE event) finish, then close. */
    async stop() {
      for (const close of [...open]) close()
      const graceful = app.stop(false)
      const timer = setTimeout(() => app.stop(true), 3000)
      await graceful
      clearTimeout(timer)
    },
  }
}
