/**
 * Schedules: `GET /schedules` lists every schedule (the config's and those made at run time) with its
 * next and last run; `POST /schedules` makes one; `GET|PATCH|DELETE /schedules/:id` reads, changes
 * (pause with `enabled: false`) or removes one. The config's schedules are read-only here (409).
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import { described, invalid, problem } from "./schemas.ts"

const tags = ["schedules"]
const params = t.Object({ id: t.String({ description: "Schedule id", examples: ["sch_01jz8k3v7q0000000000000000"] }) })
const nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T, description: string) =>
  t.Union([schema, t.Null()], { description })
const Target = t.Object(
  {
    channel: t.String({ description: "A delivery channel (GET /schedules lists them): telegram, telegram#2, …" }),
    chat: t.Union([t.String(), t.Number()], { description: "The chat id there" }),
  },
  { additionalProperties: false },
)

export const Schedule = t.Object(
  {
    id: t.String(),
    source: t.Union([t.Literal("config"), t.Literal("agent"), t.Literal("api"), t.Literal("command")], {
      description: "config (drost.config.ts, read-only here), agent (schedule.create), api or command (/schedules)",
    }),
    state: t.Union([t.Literal("active"), t.Literal("paused"), t.Literal("done")], {
      description: "paused: enabled false; done: a one-time schedule that has run (or was missed with skip)",
    }),
    cron: nullable(t.String(), "Cron expression"),
    every: nullable(t.String(), "Interval"),
    at: nullable(t.String(), "The one time (ISO 8601; without an offset read in timeZone)"),
    timeZone: nullable(t.String(), "Its own zone; null: the owner's (config timeZone) or the system's"),
    prompt: t.String({ description: "What its turn is asked" }),
    deliver: nullable(Target, "Where the answer goes; null: it stays in the session"),
    missed: t.Union([t.Literal("once"), t.Literal("skip")], { description: "Missed-run policy after downtime" }),
    next: nullable(t.Number(), "Next run (ms since the epoch); null when paused or done"),
    lastDue: nullable(t.Number(), "The due time of the last claimed run"),
    lastStarted: nullable(t.Number(), "When that run started"),
    lastStatus: nullable(t.String(), "running, completed, failed, interrupted or undelivered"),
    lastError: nullable(t.String(), "Why the last run failed"),
    sessionId: nullable(t.String(), "The session its turns run in"),
    createdAt: nullable(t.Number(), "When it was made (null for the config's)"),
  },
  {
    additionalProperties: true,
    examples: [
      {
        id: "sch_01jz8k3v7q0000000000000000",
        source: "agent",
        state: "active",
        cron: null,
        every: null,
        at: "2026-12-02T09:00",
        timeZone: null,
        prompt: "Remind the user to call the dentist",
        deliver: { channel: "telegram", chat: 111 },
        missed: "once",
        next: 1796198400000,
        lastDue: null,
        lastStarted: null,
        lastStatus: null,
        lastError: null,
        sessionId: "ses_01jz8k3v7q0000000000000000",
        createdAt: 1796112000000,
      },
    ],
  },
)

const fields = {
  prompt: t.String({ minLength: 1, description: "What the turn at that time is asked" }),
  at: t.Optional(t.String({ description: "Once: 2026-12-02T09:00 (in timeZone) or ISO 8601 with an offset" })),
  in: t.Optional(t.String({ description: "Once, this long from now: 90s, 20m, 2h, 1d" })),
  cron: t.Optional(t.String({ description: "Recurring: 30 7 * * MON-FRI, 0 9 * * *, @daily, …" })),
  every: t.Optional(t.String({ description: "Recurring interval: 30m, 1h, 1d" })),
  timeZone: t.Optional(t.String({ description: "IANA zone (default: the config's timeZone, else the system's)" })),
  session: t.Optional(t.String({ description: "Run in this session (default: one of its own)" })),
  deliver: t.Optional(t.Union([Target, t.Null()], { description: "Where the answer goes; null or absent: nowhere" })),
  missed: t.Optional(t.Union([t.Literal("once"), t.Literal("skip")], { description: "After downtime (default once)" })),
  enabled: t.Optional(t.Boolean({ description: "false pauses it" })),
}

const notFound = problem("Unknown schedule")
const fromConfig = problem("The schedule is defined in the config file; change it there")

export function scheduleRoutes(gw: Gateway) {
  const book = gw.continuity.scheduleBook
  return new Elysia({ prefix: "/control/v1" })
    .get("/schedules", async () => ({ schedules: await book.list(), deliveries: gw.continuity.deliveries.names() }), {
      response: {
        200: t.Object(
          {
            schedules: t.Array(Schedule),
            deliveries: t.Array(t.String(), { description: "Channels schedules can deliver their answers to" }),
          },
          { description: "Every schedule: the config's and those made at run time" },
        ),
      },
      detail: {
        operationId: "getSchedules",
        tags,
        summary: "List schedules: next and last run, status, session",
        description:
          "The config's schedules and those made at run time (the agent's schedule.create, this API, /schedules). Times are epoch milliseconds.",
      },
    })
    .post(
      "/schedules",
      async ({ body, set }) => {
        set.status = 201
        return book.create(body, "api")
      },
      {
        body: t.Object(fields, {
          additionalProperties: false,
          examples: [
            { prompt: "Say good morning", cron: "30 7 * * MON-FRI", deliver: { channel: "telegram", chat: 111 } },
          ],
        }),
        response: {
          201: described(Schedule, "The new schedule"),
          400: invalid,
          409: problem("There are too many schedules already"),
        },
        detail: {
          operationId: "createSchedule",
          tags,
          summary: "Make a schedule (once with at or in, recurring with cron or every)",
          description:
            "Exactly one of at, in, cron, every. 400 names the wrong field (a bad cron expression, an unknown time zone or session, a channel that cannot deliver).",
        },
      },
    )
    .get("/schedules/:id", ({ params }) => book.get(params.id), {
      params,
      response: { 200: described(Schedule, "The schedule"), 404: notFound },
      detail: {
        operationId: "getSchedule",
        tags,
        summary: "Read a schedule",
        description: "Its times, prompt, delivery target and last run; 404 when no schedule has this id.",
      },
    })
    .patch("/schedules/:id", ({ params, body }) => book.update(params.id, body), {
      params,
      body: t.Partial(t.Object(fields), {
        additionalProperties: false,
        minProperties: 1,
        examples: [{ enabled: false }],
      }),
      response: { 200: described(Schedule, "The schedule as changed"), 400: invalid, 404: notFound, 409: fromConfig },
      detail: {
        operationId: "updateSchedule",
        tags,
        summary: "Change a schedule (enabled: false pauses it)",
        description:
          "Fields not sent stay as they are; a new at, in, cron or every replaces the old time. 409 for the config's schedules.",
      },
    })
    .delete("/schedules/:id", async ({ params }) => ({ deleted: (await book.remove(params.id)).id }), {
      params,
      response: {
        200: t.Object({ deleted: t.String({ description: "The removed schedule's id" }) }, { description: "Removed" }),
        404: notFound,
        409: fromConfig,
      },
      detail: {
        operationId: "deleteSchedule",
        tags,
        summary: "Remove a schedule",
        description:
          "It will not run again (a run in progress finishes). 404 when no schedule has this id; 409 for the config's schedules.",
      },
    })
}
