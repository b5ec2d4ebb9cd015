/**
 * Sessions: list (paged, filtered), create, read with paged messages, rename or switch provider,
 * delete, run a turn (JSON, or SSE when the client accepts text/event-stream) and abort.
 */
import { Elysia, sse, t } from "elysia"
import { SessionEvent, ToolEvent, TurnEvent } from "../agent/events.ts"
import type { Accepted } from "../agent/session.ts"
import type { Envelope } from "../core/event.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { AsyncQueue } from "../util/queue.ts"
import { ErrorBody } from "./errors.ts"
import { described, Image, invalid, Message, Paging, problem, Session, Turn, TurnResult } from "./schemas.ts"

const tags = ["sessions"]
const params = t.Object({ id: t.String({ description: "Session id", examples: ["ses_01jz8k3v7q0000000000000000"] }) })
const notFound = { 404: problem("Unknown session") }

const TurnBody = t.Object(
  {
    input: t.String({ minLength: 1, description: "The user's message" }),
    images: t.Optional(t.Array(Image, { maxItems: 16, description: "Images sent with the message" })),
  },
  { examples: [{ input: "list files" }] },
)

const ProviderCost = t.Object({
  provider: t.String(),
  input: t.Number(),
  output: t.Number(),
  cached: t.Number(),
  cost: t.Union([t.Number(), t.Null()], { description: "USD at the profile's prices; null without prices" }),
})
const SessionCost = t.Object(
  {
    currency: t.Literal("USD"),
    total: t.Number({ description: "USD of every stored model step of the session, at the profiles' prices" }),
    providers: t.Array(ProviderCost, { description: "Per profile that served a step (after failover)" }),
    turns: t.Array(t.Object({ turnId: t.String(), total: t.Number(), providers: t.Array(ProviderCost) }), {
      description: "The same for each turn listed in `turns`",
    }),
  },
  { description: "Usage and cost from the stored steps (config prices; budgets in docs/operations.md)" },
)

/** The session's cost, and that of each of its `turns` most recent turns (listed in `recent`). */
async function sessionCost(gw: Gateway, sessionId: string, recent: { id: string }[]) {
  return {
    ...(await gw.budgets.session(sessionId)),
    turns: await Promise.all(
      recent.map(async (turn) => {
        const { total, providers } = await gw.budgets.turn(sessionId, turn.id)
        return { turnId: turn.id, total, providers }
      }),
    ),
  }
}

export function sessionRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/sessions",
      async ({ query }) => {
        const limit = query.limit ?? 50
        const offset = query.offset ?? 0
        const page = await gw.data.sessions.page({
          limit,
          offset,
          channel: query.channel,
          provider: query.provider,
          title: query.q,
          updatedAfter: query.updatedAfter,
        })
        const nextOffset = offset + page.sessions.length < page.total ? offset + page.sessions.length : null
        return { sessions: page.sessions, total: page.total, limit, offset, nextOffset }
      },
      {
        query: t.Object({
          ...Paging,
          channel: t.Optional(
            t.String({ description: "Only sessions of this channel (api, terminal, telegram, openai, …)" }),
          ),
          provider: t.Optional(t.String({ description: "Only sessions on this provider profile" })),
          q: t.Optional(t.String({ maxLength: 200, description: "Case-insensitive substring of the title" })),
          updatedAfter: t.Optional(
            t.Numeric({ description: "Only sessions active after this time (ms since the epoch)" }),
          ),
        }),
        response: {
          200: t.Object(
            {
              sessions: t.Array(Session),
              total: t.Number({ description: "Sessions matching the filters" }),
              limit: t.Number(),
              offset: t.Number(),
              nextOffset: t.Union([t.Number(), t.Null()], { description: "offset of the next page; null on the last" }),
            },
            { description: "One page of sessions" },
          ),
          400: invalid,
        },
        detail: {
          operationId: "listSessions",
          tags,
          summary: "List sessions",
          description: "Newest activity first. `nextOffset` is null on the last page.",
        },
      },
    )
    .post(
      "/sessions",
      async ({ body, set }) => {
        set.status = 201
        return await gw.sessions.create({
          title: body?.title,
          provider: body?.provider,
          channel: "api",
          metadata: body?.metadata,
        })
      },
      {
        body: t.Optional(
          t.Object(
            {
              title: t.Optional(t.String({ maxLength: 500 })),
              provider: t.Optional(
                t.String({ description: "Provider profile id; default: providers.defaultSessionProvider" }),
              ),
              metadata: t.Optional(
                t.Record(t.String(), t.Unknown(), { description: "Free-form data kept with the session" }),
              ),
            },
            // No provider in the example: "Try it out" then creates a session on the default provider.
            { examples: [{ title: "release notes" }] },
          ),
        ),
        response: {
          201: described(Session, "The new session"),
          400: invalid,
          404: problem("Unknown provider profile"),
        },
        detail: {
          operationId: "createSession",
          tags,
          summary: "Create a session",
          description: "404 when the provider profile does not exist.",
        },
      },
    )
    .get(
      "/sessions/:id",
      async ({ params, query }) => {
        const session = await gw.sessions.get(params.id)
        const messages = await gw.data.sessions.messages(params.id, {
          limit: query.limit ?? 50,
          beforeSeq: query.before,
        })
        const turns = await gw.data.sessions.turns(params.id, query.turns ?? 20)
        return { session, messages, turns, cost: await sessionCost(gw, params.id, turns) }
      },
      {
        params,
        query: t.Object({
          limit: Paging.limit,
          before: t.Optional(
            t.Numeric({ description: "Messages with a seq below this (page backwards with the first seq you have)" }),
          ),
          turns: t.Optional(
            t.Numeric({ minimum: 0, maximum: 500, default: 20, description: "Most recent turns to include" }),
          ),
        }),
        response: {
          200: t.Object(
            { session: Session, messages: t.Array(Message), turns: t.Array(Turn), cost: SessionCost },
            { description: "The session, a page of its messages and its recent turns" },
          ),
          400: invalid,
          ...notFound,
        },
        detail: {
          operationId: "getSession",
          tags,
          summary: "Read a session",
          description:
            "The session, its last `limit` messages (oldest first), its recent turns, and the usage and cost (USD at the profiles' `prices`) of the session and of each of those turns, per provider profile.",
        },
      },
    )
    .patch(
      "/sessions/:id",
      async ({ params, body }) => {
        await gw.sessions.get(params.id)
        if (body.title !== undefined) await gw.data.sessions.setTitle(params.id, body.title)
        if (body.provider !== undefined) await gw.sessions.switchProvider(params.id, body.provider)
        return await gw.sessions.get(params.id)
      },
      {
        params,
        body: t.Object(
          {
            title: t.Optional(t.String({ maxLength: 500 })),
            provider: t.Optional(
              t.String({ description: "Switch to this provider profile at the next turn boundary" }),
            ),
          },
          { minProperties: 1, examples: [{ title: "renamed" }] },
        ),
        response: {
          200: described(Session, "The session as changed"),
          400: invalid,
          404: problem("Unknown session or provider profile"),
        },
        detail: {
          operationId: "updateSession",
          tags,
          summary: "Rename or switch provider",
          description: "A provider switch is queued (`pendingProvider`) and applied when the next turn starts.",
        },
      },
    )
    .delete(
      "/sessions/:id",
      async ({ params }) => {
        await gw.sessions.remove(params.id)
        return { deleted: params.id }
      },
      {
        params,
        response: {
          200: t.Object({ deleted: t.String({ description: "The deleted session's id" }) }, { description: "Deleted" }),
          ...notFound,
        },
        detail: {
          operationId: "deleteSession",
          tags,
          summary: "Delete a session",
          description: "Aborts its running turn and deletes its messages and turns.",
        },
      },
    )
    .post(
      "/sessions/:id/turn",
      async ({ params, body, request }) => {
        const accepted = await gw.sessions.prompt({
          sessionId: params.id,
          text: body.input,
          images: body.images,
          source: "api",
        })
        if ((request.headers.get("accept") ?? "").includes("text/event-stream"))
          return streamTurn(gw, params.id, accepted)
        return { ...(await accepted.done), messageId: accepted.messageId }
      },
      {
        params,
        body: TurnBody,
        // No response schemas here: the same route answers JSON or an event stream (documented below).
        detail: {
          operationId: "runTurn",
          tags,
          summary: "Send a message and run a turn",
          description:
            "Waits for the turn and returns the final answer as JSON. With `Accept: text/event-stream` it streams instead: `turn.accepted` once the message is stored, then `session.turn.delta`, `tool.call.started`, `tool.call.completed`, `session.message`, and finally `turn.completed`, `turn.failed` or `turn.interrupted`. Turns of one session run one after another.",
          responses: {
            200: {
              description: "The turn's outcome (JSON), or its events (text/event-stream)",
              content: {
                "application/json": { schema: TurnResult as object, example: TurnResult.examples?.[0] },
                "text/event-stream": {
                  schema: { type: "string" },
                  example:
                    'event: turn.accepted\ndata: {"turnId":"turn_…","messageId":"msg_…","sessionId":"ses_…"}\n\n',
                },
              },
            },
            400: {
              description: "Invalid request: `fields` names each wrong field (`body.input`, …)",
              content: { "application/json": { schema: ErrorBody as object } },
            },
            404: { description: "Unknown session", content: { "application/json": { schema: ErrorBody as object } } },
            409: {
              description: "The gateway is stopping",
              content: { "application/json": { schema: ErrorBody as object } },
            },
          },
        },
      },
    )
    .post(
      "/sessions/:id/abort",
      async ({ params }) => {
        await gw.sessions.get(params.id)
        return { aborted: gw.sessions.abort(params.id) }
      },
      {
        params,
        response: {
          200: t.Object(
            { aborted: t.Boolean({ description: "false when no turn was running" }) },
            { description: "Whether a running turn was aborted" },
          ),
          ...notFound,
        },
        detail: {
          operationId: "abortTurn",
          tags,
          summary: "Abort the running turn",
          description: "The turn ends `failed` with reason `aborted by user`; queued turns still run.",
        },
      },
    )
}

/** The turn as SSE: `turn.accepted` once the message is durable, then deltas and tool activity, then the outcome. */
async function* streamTurn(gw: Gateway, sessionId: string, accepted: Accepted) {
  const queue = new AsyncQueue<Envelope>()
  const mine = (event: Envelope) => {
    if ((event.data as { turnId?: string }).turnId === accepted.turn.id) queue.push(event)
  }
  const stops = [TurnEvent.Started, TurnEvent.Delta, ToolEvent.Started, ToolEvent.Completed, SessionEvent.Message].map(
    (def) => gw.bus.subscribe(def, mine),
  )
  accepted.done.then((result) => {
    queue.push({
      id: gw.bus.lastId(),
      type: `turn.${result.status}`,
      time: Date.now(),
      data: { ...result, messageId: accepted.messageId },
    })
    queue.close()
  })
  try {
    yield sse({ event: "turn.accepted", data: { turnId: accepted.turn.id, messageId: accepted.messageId, sessionId } })
    for await (const event of queue) yield sse({ id: String(event.id), event: event.type, data: event.data as object })
  } finally {
    for (const stop of stops) stop()
  }
}
