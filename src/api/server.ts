/**
 * Starting the Control API server. One instance per port (`reusePort: false`, so a second gateway on
 * the same port fails loudly instead of silently sharing it), bound to 127.0.0.1 unless configured, and
 * never on a non-loopback address with only the generated local token: exposing the gateway to a
 * network needs a token the operator chose (controlApi.token or DROST_CONTROL_ADMIN_TOKEN).
 *
 * The server is `Bun.serve` with the Elysia app behind a front door, not `app.listen()`, because
 * Elysia's listen turns on Bun's development mode outside NODE_ENV=production: any exception that
 * escaped (a request with an empty Host made `new URL(request.url)` throw in the error handler itself)
 * was answered with Bun's development page, 50 KB of HTML with stack frames and source. Here:
 * - `development: false` and an `error` handler: whatever escapes is the API's JSON 500;
 * - the Host check (host.ts) runs first, on every route;
 * - a request without Host (HTTP/1.0) gets a loopback URL, so routing and logging work on it;
 * - a body streams to Elysia through body.ts, counted (413 at maxBodyBytes) and, for JSON, depth-checked
 *   (400); nothing reads it before the auth guard has passed;
 * - a body the API did not read to its end (a refusal at the headers: 401, 403, 413, 421, …, a body cut
 *   off by body.ts, or a route without a body) is not drained when it is chunked or over 64 KiB: the
 *   answer carries `Connection: close` and Bun stops reading, so an unauthenticated 300 MiB upload
 *   costs the few MiB already in flight.
 */
import { DrostError } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { Tokens } from "../gateway/token.ts"
import { Log } from "../util/log.ts"
import { type ApiOptions, createApi } from "./app.ts"
import { bounded, hasBody } from "./body.ts"
import { pathOf, problem } from "./errors.ts"
import { hostPolicy, refuseHost } from "./host.ts"
import { isOpenAIPath, toOpenAIShape } from "./openai-errors.ts"

export interface ApiServer {
  url: string
  port: number
  /** controlApi.metricsPort's GET /metrics without a token, when configured. */
  metricsUrl: string | null
  stop(): Promise<void>
}

/** How far past maxBodyBytes Bun itself cuts a request off (see `maxRequestBodySize`). */
const BACKSTOP_MARGIN = 16 * 1024 * 1024

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
  const settings = gw.config.controlApi
  const { host, port } = settings
  if (!isLoopback(host) && tokens.file !== null)
    throw new UnsafeBind(
      `refusing to serve the Control API on ${host} (not loopback) without a configured token; set controlApi.token or DROST_CONTROL_ADMIN_TOKEN (16+ characters), or bind to 127.0.0.1`,
    )
  const open = new Set<() => void>()
  const app = createApi(gw, tokens, { ...options, events: { ...options.events, open } })
  const policy = hostPolicy(host, settings.allowedHosts ?? [])
  const maxBody = settings.maxBodyBytes ?? 8 * 1024 * 1024
  const log = Log.create("api")
  let loopback = ""
  const server = Bun.serve({
    hostname: host,
    port,
    reusePort: false,
    idleTimeout: 0,
    development: false,
    // A backstop only: body.ts counts every body and answers 413 at maxBodyBytes, before Bun would
    // cut the connection without an answer. Bun counts bytes as they arrive, not as the guard reads
    // them, so the margin covers what a fast client sends while a loaded loop has not yet run the guard
    // (a 1 MiB margin was overrun: the 413 test got a closed socket and no answer 1 run in 6 at load 4).
    maxRequestBodySize: maxBody + BACKSTOP_MARGIN,
    error(error) {
      const errorId = `err_${crypto.randomUUID().slice(0, 8)}`
      log.error("request failed outside the API", { errorId, error: error.stack ?? String(error) })
      return problem(500, "Internal", "internal error; see the gateway log", { errorId })
    },
    async fetch(request) {
      const host = refuseHost(request, policy)
      // The OpenAI-compatible routes answer every refusal in OpenAI's error shape, this one included.
      const refused =
        host && settings.openaiCompatible === true && isOpenAIPath(pathOf(request)) ? await toOpenAIShape(host) : host
      if (refused) return mustClose(request) ? closeAfter(refused) : refused
      // Without Host (HTTP/1.0) Bun's URL is only the path: give it the loopback origin.
      const url = request.headers.has("host") ? request.url : `${loopback}${pathOf(request)}${query(request)}`
      if (!hasBody(request))
        return app.fetch(
          url === request.url
            ? request
            : new Request(url, { method: request.method, headers: request.headers, signal: request.signal }),
        )
      const body = bounded(request, url, maxBody)
      const response = await app.fetch(body.request)
      return body.consumed() || !mustClose(request) ? response : closeAfter(response)
    },
  })
  loopback = `http://127.0.0.1:${server.port}`
  const metrics = settings.metricsPort === undefined ? null : serveMetrics(app, tokens, settings.metricsPort)
  const shown = host.includes(":") ? `[${host}]` : host
  return {
    url: `http://${shown}:${server.port}`,
    port: server.port ?? port,
    metricsUrl: metrics ? `http://127.0.0.1:${metrics.port}/metrics` : null,
    /** End event streams, let in-flight responses (a turn's last SSE event) finish, then close. */
    async stop() {
      metrics?.stop(true)
      for (const close of [...open]) close()
      const graceful = server.stop(false)
      const timer = setTimeout(() => server.stop(true), 3000)
      await graceful
      clearTimeout(timer)
    },
  }
}

/**
 * controlApi.metricsPort: GET /metrics on its own loopback listener, without a token, for a scraper on
 * this host that should hold no Control API token. It answers nothing else, and only to loopback Host
 * names (a web page cannot read it through DNS rebinding). The route itself is the Control API's, asked
 * with the read token (or the admin token when there is none) inside this process.
 */
function serveMetrics(app: ReturnType<typeof createApi>, tokens: Tokens, port: number) {
  const policy = hostPolicy("127.0.0.1", [])
  const token = tokens.read ?? tokens.admin
  return Bun.serve({
    hostname: "127.0.0.1",
    port,
    reusePort: false,
    development: false,
    fetch(request) {
      const refused = refuseHost(request, policy)
      if (refused) return refused
      if (pathOf(request) !== "/metrics" || request.method !== "GET")
        return problem(404, "NotFound", "this port serves only GET /metrics (controlApi.metricsPort)")
      return app.handle(new Request("http://127.0.0.1/metrics", { headers: { authorization: `Bearer ${token}` } }))
    },
  })
}

/** The query part of a request URL that may be relative (`/healthz?x=1` over HTTP/1.0). */
function query(request: Request): string {
  const at = request.url.indexOf("?")
  return at < 0 ? "" : request.url.slice(at)
}

/** A body up to this size that no route read is left to Bun to drain: cheap, and the connection stays. */
const DRAIN_MAX = 64 * 1024
/** How long a closing connection stays open after the answer (see `closeAfter`). */
const LINGER_MS = 500

/** Whether an unread body must not be drained: chunked (any size) or declared larger than DRAIN_MAX. */
function mustClose(request: Request): boolean {
  return request.headers.has("transfer-encoding") || Number(request.headers.get("content-length") ?? 0) > DRAIN_MAX
}

/**
 * The same answer with `Connection: close`: Bun stops reading the request. Closing the instant the
 * answer is written, with the client still sending, makes the kernel reset the connection, and the
 * reset can destroy the answer before the client reads it (seen under load: a 401 lost). So the
 * connection stays open LINGER_MS after the answer, as Go's net/http does; Bun does not read the body
 * meanwhile, so the client's sending stalls on a full window (a few MiB at most).
 */
async function closeAfter(response: Response): Promise<Response> {
  const headers = new Headers(response.headers)
  headers.set("connection", "close")
  const init = { status: response.status, statusText: response.statusText, headers }
  if (!response.body || headers.get("content-type")?.startsWith("text/event-stream"))
    return new Response(response.body, init)
  const bytes = new Uint8Array(await response.arrayBuffer())
  headers.set("content-length", String(bytes.byteLength))
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes)
    },
    async pull(controller) {
      await Bun.sleep(LINGER_MS)
      controller.close()
    },
  })
  return new Response(body, init)
}
