/**
 * The Control API (Elysia) under /control/v1, plus `/healthz`, `/livez`, `/readyz` and, when enabled,
 * the OpenAI-compatible `/v1` routes. The guard runs in `onRequest`, before Elysia parses or validates a
 * body: no token → 401, a read token on a mutation → 403, too many mutations → 429, a declared body over
 * the limit → 413. The Host check, the connection handling and the body's bounds (body.ts: bytes and
 * JSON depth, counted as it streams) come before all of this, in server.ts.
 * Each route group lives in its own module; errors map to statuses in errors.ts only.
 *
 * `App` is exported so `treaty<App>` (@elysiajs/eden) gives a typed client (see client.ts).
 */
import { type AnyElysia, Elysia } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import type { Tokens } from "../gateway/token.ts"
import { createRateLimit, isMutation, isPublic, roleOf } from "./auth.ts"
import { docsRoutes } from "./docs.ts"
import { hasBody, refusal } from "./body.ts"
import { Invalid } from "../core/error.ts"
import { errors, pathOf, problem } from "./errors.ts"
import { healthRoutes } from "./health.ts"
import { type EventsOptions, eventRoutes } from "./events.ts"
import { openaiRoutes } from "./openai.ts"
import { isOpenAIPath, openaiProblem } from "./openai-errors.ts"
import { continuityRoutes } from "./continuity.ts"
import { scheduleRoutes } from "./schedules.ts"
import { providerRoutes } from "./providers.ts"
import { runtimeRoutes } from "./runtime.ts"
import { sessionRoutes } from "./sessions.ts"
import { toolRoutes } from "./tools.ts"
import { usageRoutes } from "./usage.ts"
import { evolutionRoutes } from "./evolution.ts"
import { evolutionDiffRoutes } from "./evolution-diff.ts"
import { telegramRoutes } from "./telegram.ts"
import { approvalRoutes } from "./approvals.ts"
import { jobRoutes } from "./jobs.ts"
import { MCP_PATH, mcpRoutes } from "./mcp.ts"
import { commandRoutes } from "./commands.ts"
import { pluginRoutes } from "./plugins.ts"
import { skillRoutes } from "./skills.ts"
import { METRICS_PATH, metricsRoutes, StreamSet } from "./metrics.ts"
import { backupRoutes } from "./backup.ts"
import { webRoutes } from "./web/routes.ts"
import { whoamiRoutes } from "./whoami.ts"

export const PREFIX = "/control/v1"

export interface ApiOptions {
  events?: EventsOptions
  /** Override config (tests): clock for the rate limiter. */
  now?: () => number
}

const NOT_JSON = "the body is not valid JSON; send a JSON object with Content-Type: application/json"

/** A Control API change that sent a JSON body Elysia could not parse (it parses every non-GET body). */
function malformed(request: Request): boolean {
  const path = pathOf(request)
  return (
    (path === PREFIX || path.startsWith(`${PREFIX}/`)) &&
    isMutation(request.method) &&
    hasBody(request) &&
    /^application\/([a-z0-9.+-]*\+)?json\b/i.test(request.headers.get("content-type") ?? "")
  )
}

function guarded(path: string, openai: boolean): boolean {
  return (
    path === PREFIX ||
    path.startsWith(`${PREFIX}/`) ||
    path === MCP_PATH ||
    path === METRICS_PATH ||
    (openai && (path === "/v1" || path.startsWith("/v1/")))
  )
}

export function createApi(gw: Gateway, tokens: Tokens, options: ApiOptions = {}) {
  const events: EventsOptions = { ...options.events, open: options.events?.open ?? new Set() }
  // Event streams counted apart from the server's other closers, for the drost_sse_subscribers gauge.
  const streams = new StreamSet(events.open!)
  const settings = gw.config.controlApi
  const openai = settings.openaiCompatible === true
  const limit = createRateLimit(settings.mutationsPerMinute ?? 600, options.now)
  const maxBody = settings.maxBodyBytes ?? 8 * 1024 * 1024
  // The docs route reads the finished app (all routes) when the document is first requested.
  let root: AnyElysia | null = null
  const app = new Elysia()
    .use(errors())
    .onRequest(({ request }) => {
      const path = pathOf(request)
      if (isPublic(path) || !guarded(path, openai)) return
      // OpenAI clients read OpenAI's error shape; the refusals below answer /v1 in it.
      const refuse = isOpenAIPath(path) ? openaiProblem : problem
      const role = roleOf(request, tokens)
      if (!role)
        return refuse(401, "Unauthorized", "missing or wrong bearer token (send Authorization: Bearer <token>)", {})
      // /mcp: every request needs the admin token, its event stream (GET) too.
      if (!isMutation(request.method) && path !== MCP_PATH) return
      if (role !== "admin")
        return refuse(403, "Forbidden", "the read token cannot change anything; use the admin token")
      const wait = limit.take(role)
      if (wait > 0) {
        const response = refuse(
          429,
          "RateLimited",
          `too many changes; retry in ${Math.ceil(wait / 1000)} s (controlApi.mutationsPerMinute = ${settings.mutationsPerMinute})`,
        )
        response.headers.set("retry-after", String(Math.ceil(wait / 1000)))
        return response
      }
      const length = Number(request.headers.get("content-length") ?? 0)
      if (length > maxBody)
        return refuse(413, "TooLarge", `the body is ${length} bytes; the limit is ${maxBody} (controlApi.maxBodyBytes)`)
    })
    // After parsing, before validation and any handler: a body cut off by body.ts (too large, too deep)
    // is refused even where the body is optional (Elysia ignores a failed parse there).
    .onTransform({ as: "global" }, ({ request, body }) => {
      const refused = refusal(request)
      if (refused) throw refused
      // Elysia swallows a body that is not JSON where the body is optional, and the handler ran as if
      // none was sent: POST /sessions with "{ not json" created a session (test/api/contract.test.ts).
      if (body === undefined && malformed(request)) throw new Invalid(NOT_JSON)
    })
    .use(docsRoutes(() => root!))
    .use(runtimeRoutes(gw))
    .use(whoamiRoutes(tokens))
    .use(healthRoutes(gw))
    .use(sessionRoutes(gw))
    .use(eventRoutes(gw, { ...events, open: streams }))
    .use(providerRoutes(gw))
    .use(toolRoutes(gw))
    .use(skillRoutes(gw))
    .use(approvalRoutes(gw))
    .use(jobRoutes(gw))
    .use(commandRoutes(gw))
    .use(pluginRoutes(gw))
    .use(continuityRoutes(gw))
    .use(scheduleRoutes(gw))
    .use(usageRoutes(gw))
    .use(metricsRoutes(gw, () => streams.size))
    .use(backupRoutes(gw))
    .use(evolutionRoutes(gw))
    .use(evolutionDiffRoutes(gw, tokens))
    .use(telegramRoutes(gw))
    .use(openaiRoutes(gw, openai))
    .use(mcpRoutes(gw, events.open))
    .use(webRoutes(tokens))
  root = app
  return app
}

export type App = ReturnType<typeof createApi>
/** @deprecated use App */
export type Api = App
