/**
 * Memory and continuity routes. `GET /prompt?session=…`: exactly what the next turn of a session would
 * send — the assembled system prompt with the size of each part, the tool definitions, and the history
 * view (after any summary) with its token budget; nothing is compacted or called. `GET /queues`: the
 * sessions with a running or waiting turn (orchestration). `POST /sessions/:id/new`: /new with continuity.
 * `GET /schedules`: each schedule's next and last run. Export, import and retention of sessions.
 */
import { Elysia, t } from "elysia"
import { Invalid } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"

export function continuityRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/prompt",
      ({ query }) => {
        const session = query.session ? gw.sessions.get(query.session) : null
        return gw.continuity.preview(
          session?.id ?? null,
          session?.provider ?? gw.config.providers.defaultSessionProvider,
        )
      },
      {
        query: t.Object({
          session: t.Optional(t.String({ description: "Session id (default: none, so no history)" })),
        }),
        detail: { operationId: "getPrompt", summary: "What the next turn would send", tags: ["sessions"] },
      },
    )
    .post(
      "/sessions/:id/new",
      async ({ params, body }) => {
        const from = gw.sessions.get(params.id)
        const result = await gw.continuity.startNew(body?.fresh ? null : from.id, {
          channel: from.channel ?? "api",
          channelKey: from.channelKey ?? undefined,
        })
        return { session: result.session, from: from.id, source: result.source }
      },
      {
        body: t.Optional(
          t.Object({ fresh: t.Optional(t.Boolean({ description: "Start blank instead of from a summary" })) }),
        ),
        detail: {
          operationId: "continueSession",
          summary: "Start a new session continuing from a summary of this one (/new)",
          description:
            "source is model, fallback (the deterministic digest, when the model failed) or none (fresh, or nothing to summarise).",
          tags: ["sessions"],
        },
      },
    )
    .get(
      "/schedules",
      () => ({ schedules: gw.continuity.schedules.list(), deliveries: gw.continuity.deliveries.names() }),
      {
        detail: {
          operationId: "getSchedules",
          summary: "Schedules: next and last run, status, session",
          description:
            "Times are epoch milliseconds. lastStatus is running, completed, failed, interrupted or undelivered.",
          tags: ["sessions"],
        },
      },
    )
    .get("/sessions/:id/export", ({ params }) => gw.continuity.portable.export(params.id), {
      detail: {
        operationId: "exportSession",
        summary: "The session as portable JSON (messages, turns, summaries)",
        tags: ["sessions"],
      },
    })
    .post("/sessions/import", ({ body }) => gw.continuity.portable.import(body), {
      body: t.Object(
        { format: t.Literal("drost.session"), version: t.Number() },
        { additionalProperties: true, description: "A document from GET /sessions/{id}/export" },
      ),
      detail: {
        operationId: "importSession",
        summary: "Import an exported session (as a new session)",
        tags: ["sessions"],
      },
    })
    .post(
      "/retention",
      ({ body }) => {
        const { dryRun, ...rule } = body ?? {}
        try {
          return gw.continuity.retention({ dryRun: dryRun ?? true, rule })
        } catch (error) {
          throw new Invalid((error as Error).message)
        }
      },
      {
        body: t.Optional(
          t.Object({
            dryRun: t.Optional(
              t.Boolean({ description: "Report only (default true: a real run must say dryRun: false)" }),
            ),
            maxAgeDays: t.Optional(t.Integer({ minimum: 1 })),
            maxSessions: t.Optional(t.Integer({ minimum: 1 })),
            maxBytes: t.Optional(t.Integer({ minimum: 1 })),
            action: t.Optional(t.Union([t.Literal("archive"), t.Literal("delete")])),
          }),
        ),
        detail: {
          operationId: "applyRetention",
          summary: "Archive or delete old sessions (limits from the config unless given)",
          tags: ["sessions"],
        },
      },
    )
    .get("/queues", () => ({ queues: gw.sessions.queues() }), {
      detail: { operationId: "getQueues", summary: "Sessions with running or waiting turns", tags: ["sessions"] },
    })
}
