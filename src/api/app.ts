/**
 * The Control API (Elysia) under /control/v1. The token check runs in `onRequest`, before body parsing
 * and validation, so an unauthenticated request always gets 401 (never 422). Errors are mapped to
 * statuses here and only here.
 */
import { Elysia, sse, t } from "elysia"
import { SessionEvent, ToolEvent, TurnEvent } from "../agent/events.ts"
import type { Envelope } from "../core/event.ts"
import { DrostError } from "../core/error.ts"
import type { Accepted } from "../agent/session.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { Tokens } from "../gateway/token.ts"
import { AsyncQueue } from "../util/queue.ts"

const STATUS: Record<string, number> = { NotFound: 404, Invalid: 400, Busy: 409, NoSession: 400, Unauthorized: 401 }
const PREFIX = "/control/v1"

function authorize(request: Request, tokens: Tokens): "admin" | "read" | null {
  const header = request.headers.get("authorization") ?? ""
  const token = header.startsWith("Bearer ") ? header.slice(7).trim() : ""
  if (!token) return null
  if (token === tokens.admin) return "admin"
  if (tokens.read && token === tokens.read) return "read"
  return null
}

const TurnBody = t.Object({
  input: t.String({ minLength: 1, description: "The user's message" }),
  images: t.Optional(t.Array(t.Object({ mediaType: t.String(), data: t.String({ description: "base64 bytes or a URL" }) }))),
})

export function createApi(gw: Gateway, tokens: Tokens) {
  return new Elysia({ serve: { reusePort: false, idleTimeout: 0 } })
    .onRequest(({ request, set }) => {
      const path = new URL(request.url).pathname
      if (!path.startsWith(PREFIX)) return
      const role = authorize(request, tokens)
      if (!role) {
        set.status = 401
        return { error: "Unauthorized", message: "missing or wrong bearer token (Authorization: Bearer <token>)" }
      }
      if (role === "read" && request.method !== "GET") {
        set.status = 403
        return { error: "Forbidden", message: "the read token cannot change anything; use the admin token" }
      }
    })
    .onError(({ code, error, set }) => {
      if (code === "VALIDATION") {
        set.status = 400
        return { error: "Invalid", message: "the request does not match the schema", fields: error.all.map((issue) => ({ path: "path" in issue ? issue.path : "", message: issue.summary ?? issue.message })) }
      }
      if (code === "PARSE") {
        set.status = 400
        return { error: "Invalid", message: "the body is not valid JSON" }
      }
      if (code === "NOT_FOUND") {
        set.status = 404
        return { error: "NotFound", message: "no such route" }
      }
      if (error instanceof DrostError) {
        set.status = STATUS[error.code] ?? 500
        return error.toObject()
      }
      set.status = 500
      return { error: "Internal", message: "internal error; see the gateway log" }
    })
    .get("/healthz", ({ set }) => {
      const state = gw.state()
      set.status = state.state === "running" ? 200 : 503
      return state
    })
    .group(PREFIX, (app) =>
      app
        .get("/status", () => ({
          ...gw.state(),
          pid: process.pid,
          workspace: gw.config.workspaceDir,
          uptimeMs: Date.now() - gw.startedAt,
          sessions: gw.store.count(),
          runningTurns: gw.sessions.activeCount(),
          providers: gw.config.providers.profiles.map((profile) => ({ id: profile.id, kind: profile.kind, available: gw.providers.has(profile.id) })),
          tools: gw.tools.list().map((tool) => tool.name),
        }))
        .get("/sessions", ({ query }) => gw.sessions.list({ limit: query.limit, offset: query.offset, channel: query.channel }), {
          query: t.Object({ limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500 })), offset: t.Optional(t.Numeric({ minimum: 0 })), channel: t.Optional(t.String()) }),
        })
        .post("/sessions", ({ body }) => gw.sessions.create({ title: body?.title, provider: body?.provider, channel: "api" }), {
          body: t.Optional(t.Object({ title: t.Optional(t.String()), provider: t.Optional(t.String()) })),
        })
        .get(
          "/sessions/:id",
          ({ params, query }) => ({
            session: gw.sessions.get(params.id),
            messages: gw.store.messages(params.id, { limit: query.limit ?? 50, beforeSeq: query.before }),
            turns: gw.store.turns(params.id, 20),
          }),
          { query: t.Object({ limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500 })), before: t.Optional(t.Numeric()) }) },
        )
        .post("/sessions/:id/abort", ({ params }) => {
          gw.sessions.get(params.id)
          return { aborted: gw.sessions.abort(params.id) }
        })
        .post(
          "/sessions/:id/turn",
          async ({ params, body, request }) => {
            const accepted = gw.sessions.prompt({ sessionId: params.id, text: body.input, images: body.images, source: "api" })
            if ((request.headers.get("accept") ?? "").includes("text/event-stream")) return streamTurn(gw, params.id, accepted)
            return { ...(await accepted.done), messageId: accepted.messageId }
          },
          { body: TurnBody },
        ),
    )
}

/** The turn as SSE: `turn.accepted` once the message is durable, then deltas and tool activity, then the outcome. */
async function* streamTurn(gw: Gateway, sessionId: string, accepted: Accepted) {
  const queue = new AsyncQueue<Envelope>()
  const mine = (event: Envelope) => {
    if ((event.data as { turnId?: string }).turnId === accepted.turn.id) queue.push(event)
  }
  const stops = [TurnEvent.Started, TurnEvent.Delta, ToolEvent.Started, ToolEvent.Completed, SessionEvent.Message].map((def) => gw.bus.subscribe(def, mine))
  accepted.done.then((result) => {
    queue.push({ id: gw.bus.lastId(), type: `turn.${result.status}`, time: Date.now(), data: result })
    queue.close()
  })
  try {
    yield sse({ event: "turn.accepted", data: { turnId: accepted.turn.id, messageId: accepted.messageId, sessionId } })
    for await (const event of queue) yield sse({ id: String(event.id), event: event.type, data: event.data as object })
  } finally {
    for (const stop of stops) stop()
  }
}

export type Api = ReturnType<typeof createApi>
