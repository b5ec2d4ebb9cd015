/**
 * Memory and continuity routes. `GET /prompt?session=…`: exactly what the next turn of a session would
 * send — the assembled system prompt with the size of each part, the tool definitions, and the history
 * view (after any summary) with its token budget; nothing is compacted or called. `GET /queues`: the
 * sessions with a running or waiting turn (orchestration). `POST /sessions/:id/new`: /new with continuity.
 * Export, import and retention of sessions. (Schedules: schedules.ts.)
 */
import { Elysia, t } from "elysia"
import { Invalid } from "../core/error.ts"
import { Part, Role } from "../core/message.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { invalid, problem, Queue, Session } from "./schemas.ts"

// Responses keep fields these schemas do not list (`additionalProperties`): Elysia drops unlisted fields
// from a response, and these shapes belong to modules below the API (continuity, store, retention).
const open = { additionalProperties: true }
const notFound = problem("Unknown session")
const id = t.Object({ id: t.String({ description: "Session id", examples: ["ses_01jz8k3v7q0000000000000000"] }) })

const Preview = t.Object(
  {
    sessionId: t.Union([t.String(), t.Null()]),
    provider: t.String({ description: "The provider profile the turn would use" }),
    system: t.Object(
      {
        text: t.String({ description: "The assembled system prompt" }),
        sections: t.Array(
          t.Object(
            {
              name: t.String(),
              file: t.Optional(t.String({ description: "The file it came from, when it came from one" })),
              tokens: t.Number(),
              clipped: t.Boolean({ description: "Cut to fit its share of the budget" }),
            },
            open,
          ),
        ),
        tokens: t.Number(),
      },
      open,
    ),
    tools: t.Array(
      t.Object(
        {
          name: t.String(),
          description: t.String(),
          parameters: t.Record(t.String(), t.Unknown(), { description: "JSON Schema of the arguments" }),
        },
        open,
      ),
    ),
    toolTokens: t.Number(),
    history: t.Array(t.Object({ role: Role, parts: t.Array(Part) }, open), {
      description: "What the model would see of the history (after any summary), oldest first",
    }),
    historyTokens: t.Number(),
    budget: t.Number({ description: "Tokens the history may use" }),
    windowTokens: t.Number({ description: "context.windowTokens" }),
    summaryUpto: t.Union([t.Number(), t.Null()], { description: "seq of the last message a summary covers" }),
  },
  { ...open, description: "What the next turn would send" },
)

const Row = t.Record(t.String(), t.Unknown(), { description: "A stored row, columns as in the database" })
const Export = t.Object(
  {
    format: t.Literal("drost.session"),
    version: t.Number(),
    exportedAt: t.String({ description: "ISO 8601" }),
    session: Row,
    messages: t.Array(Row),
    turns: t.Array(Row),
    summaries: t.Array(Row),
  },
  { ...open, description: "The session as portable JSON; POST /sessions/import reads it back" },
)

const Retention = t.Object(
  {
    action: t.Union([t.Literal("archive"), t.Literal("delete")]),
    dryRun: t.Boolean({ description: "true: nothing was changed, this is what a real run would do" }),
    sessions: t.Array(
      t.Object(
        {
          id: t.String(),
          title: t.String(),
          updatedAt: t.Number(),
          messages: t.Number(),
          bytes: t.Number({ description: "Bytes of stored message parts" }),
          reason: t.String({ description: "Which limit selected it" }),
        },
        open,
      ),
    ),
    bytes: t.Number(),
    archiveDir: t.Union([t.String(), t.Null()], { description: "Where archives went (archive action only)" }),
  },
  { ...open, description: "The sessions archived or deleted (or, on a dry run, that would be)" },
)

export function continuityRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/prompt",
      async ({ query }) => {
        const session = query.session ? await gw.sessions.get(query.session) : null
        return await gw.continuity.preview(
          session?.id ?? null,
          session?.provider ?? gw.config.providers.defaultSessionProvider,
        )
      },
      {
        query: t.Object({
          session: t.Optional(t.String({ description: "Session id (default: none, so no history)" })),
        }),
        response: { 200: Preview, 404: notFound },
        detail: {
          operationId: "getPrompt",
          summary: "What the next turn would send",
          description:
            "The assembled system prompt with the tokens of each part, the tool definitions, and the history the model would see (after any summary) with its token budget, for `session` on its provider (or, without one, the default provider and no history). Nothing is compacted and no model is called (`drost prompt show`).",
          tags: ["sessions"],
        },
      },
    )
    .post(
      "/sessions/:id/new",
      async ({ params, body }) => {
        const from = await gw.sessions.get(params.id)
        const result = await gw.continuity.startNew(body?.fresh ? null : from.id, {
          channel: from.channel ?? "api",
          channelKey: from.channelKey ?? undefined,
        })
        return { session: result.session, from: from.id, source: result.source }
      },
      {
        params: id,
        body: t.Optional(
          t.Object(
            { fresh: t.Optional(t.Boolean({ description: "Start blank instead of from a summary" })) },
            { examples: [{ fresh: false }] },
          ),
        ),
        response: {
          200: t.Object(
            {
              session: Session,
              from: t.String({ description: "The session it continues" }),
              source: t.Union([t.Literal("model"), t.Literal("fallback"), t.Literal("none")]),
            },
            { description: "The new session" },
          ),
          400: invalid,
          404: notFound,
        },
        detail: {
          operationId: "continueSession",
          summary: "Start a new session continuing from a summary of this one (/new)",
          description:
            "source is model, fallback (the deterministic digest, when the model failed) or none (fresh, or nothing to summarise).",
          tags: ["sessions"],
        },
      },
    )
    .get("/sessions/:id/export", ({ params }) => gw.continuity.portable.export(params.id), {
      params: id,
      response: { 200: Export, 404: notFound },
      detail: {
        operationId: "exportSession",
        summary: "The session as portable JSON (messages, turns, summaries)",
        description:
          "Every stored row of the session, its messages, turns and summaries, as one JSON document (`drost session export`). Import it here or on another gateway with POST /sessions/import.",
        tags: ["sessions"],
      },
    })
    .post("/sessions/import", ({ body }) => gw.continuity.portable.import(body), {
      body: t.Object(
        { format: t.Literal("drost.session"), version: t.Number() },
        { additionalProperties: true, description: "A document from GET /sessions/{id}/export" },
      ),
      response: {
        200: t.Object(
          {
            sessionId: t.String({ description: "The new session's id" }),
            messages: t.Number({ description: "Messages imported" }),
          },
          { description: "Imported as a new session" },
        ),
        400: invalid,
      },
      detail: {
        operationId: "importSession",
        summary: "Import an exported session (as a new session)",
        description:
          "Reads a document from GET /sessions/{id}/export (this gateway's or another's) into a new session with new ids; `metadata.importedFrom` names the original. A turn that was still open when exported arrives as interrupted. 400 when it is not an export of a version this gateway reads.",
        tags: ["sessions"],
      },
    })
    .post(
      "/retention",
      async ({ body }) => {
        const { dryRun, ...rule } = body ?? {}
        try {
          return await gw.continuity.retention({ dryRun: dryRun ?? true, rule })
        } catch (error) {
          throw new Invalid((error as Error).message)
        }
      },
      {
        body: t.Optional(
          t.Object(
            {
              dryRun: t.Optional(
                t.Boolean({ description: "Report only (default true: a real run must say dryRun: false)" }),
              ),
              maxAgeDays: t.Optional(t.Integer({ minimum: 1 })),
              maxSessions: t.Optional(t.Integer({ minimum: 1 })),
              maxBytes: t.Optional(t.Integer({ minimum: 1 })),
              action: t.Optional(t.Union([t.Literal("archive"), t.Literal("delete")])),
            },
            { examples: [{ dryRun: true, maxAgeDays: 90 }] },
          ),
        ),
        response: { 200: Retention, 400: invalid },
        detail: {
          operationId: "applyRetention",
          summary: "Archive or delete old sessions (limits from the config unless given)",
          description:
            "Selects sessions by idle age (`maxAgeDays`), count (`maxSessions`: keep the newest) or size (`maxBytes` of stored messages); the limits in `retention` apply where the body gives none. A dry run (the default) only reports; `dryRun: false` archives (export JSON under .drost/archive/, then delete) or deletes. Sessions with a running or waiting turn are never touched. 400 when no limit is set.",
          tags: ["sessions"],
        },
      },
    )
    .get("/queues", () => ({ queues: gw.sessions.queues() }), {
      response: {
        200: t.Object({ queues: t.Array(Queue) }, { description: "Sessions with a running or waiting turn" }),
      },
      detail: {
        operationId: "getQueues",
        summary: "Sessions with running or waiting turns",
        description:
          "One entry per session that has a turn running or waiting: the running turn's id, how many turns wait behind it and how many messages they carry (turns of one session run one after another; see docs/sessions.md).",
        tags: ["sessions"],
      },
    })
}
