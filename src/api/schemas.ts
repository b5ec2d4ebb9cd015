/**
 * Response and shared request shapes of the Control API, as `t` schemas: Elysia validates with them,
 * the OpenAPI document is generated from them, and `treaty<App>` infers the client types from them.
 */
import { t } from "elysia"
import type { TSchema } from "../core/schema.ts"
import { Message, Usage } from "../core/message.ts"
import { ErrorBody } from "./errors.ts"

export { Message, Usage }

export const SessionId = t.Object({
  id: t.String({ description: "Session id (ses_…)", examples: ["ses_01jz8k3v7q0000000000000000"] }),
})

export const Session = t.Object(
  {
    id: t.String(),
    title: t.String(),
    createdAt: t.Number({ description: "ms since the epoch" }),
    updatedAt: t.Number(),
    provider: t.String({ description: "Provider profile id the next turn uses" }),
    pendingProvider: t.Union([t.String(), t.Null()], { description: "Switch queued for the next turn boundary" }),
    channel: t.Union([t.String(), t.Null()]),
    channelKey: t.Union([t.String(), t.Null()]),
    metadata: t.Record(t.String(), t.Unknown()),
    messageCount: t.Number(),
    usage: Usage,
  },
  {
    examples: [
      {
        id: "ses_01jz8k3v7q0000000000000000",
        title: "release notes",
        createdAt: 1767225600000,
        updatedAt: 1767225660000,
        provider: "demo",
        pendingProvider: null,
        channel: "api",
        channelKey: null,
        metadata: {},
        messageCount: 4,
        usage: { input: 812, output: 95, cached: 0 },
      },
    ],
  },
)

export const TurnStatus = t.Union([
  t.Literal("queued"),
  t.Literal("running"),
  t.Literal("completed"),
  t.Literal("failed"),
  t.Literal("interrupted"),
])

export const Turn = t.Object({
  id: t.String(),
  sessionId: t.String(),
  status: TurnStatus,
  source: t.String({ description: "api, terminal, telegram, openai, …" }),
  provider: t.Union([t.String(), t.Null()]),
  error: t.Union([t.String(), t.Null()]),
  usage: t.Union([Usage, t.Null()]),
  steps: t.Number(),
  toolCalls: t.Number(),
  createdAt: t.Number(),
  startedAt: t.Union([t.Number(), t.Null()]),
  endedAt: t.Union([t.Number(), t.Null()]),
})

export const TurnResult = t.Object(
  {
    turnId: t.String(),
    sessionId: t.String(),
    messageId: t.String({ description: "The stored user message" }),
    status: t.Union([t.Literal("completed"), t.Literal("failed"), t.Literal("interrupted")]),
    reason: t.Union([t.String(), t.Null()], { description: "Why it failed or was interrupted" }),
    text: t.String({ description: "The final answer" }),
  },
  {
    examples: [
      {
        turnId: "turn_01jz8k3v7q0000000000000000",
        sessionId: "ses_01jz8k3v7q0000000000000000",
        messageId: "msg_01jz8k3v7q0000000000000000",
        status: "completed",
        reason: null,
        text: "Hello!",
      },
    ],
  },
)

/** A session with a running or waiting turn (`GET /queues`, `GET /status`). */
export const Queue = t.Object({
  sessionId: t.String(),
  running: t.Union([t.String(), t.Null()], { description: "The running turn's id" }),
  waiting: t.Number({ description: "Turns waiting behind it" }),
  messages: t.Number({ description: "Messages waiting (a collected batch counts each)" }),
})

export const Image = t.Object({
  mediaType: t.String({ description: "e.g. image/png", examples: ["image/png"] }),
  data: t.String({ description: "base64 bytes, or an http(s)/data URL" }),
})

/** Query numbers arrive as strings; `t.Numeric` converts and bounds them. */
export const Paging = {
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 500, default: 50, description: "Page size (1–500)" })),
  offset: t.Optional(t.Numeric({ minimum: 0, default: 0, description: "Items to skip" })),
}

/**
 * `schema` with a description, which the OpenAPI generator uses as the response's description (it
 * otherwise writes "Response for status 200"). A shallow copy: TypeBox's symbol keys come along, so
 * Elysia still validates (and, for responses, cleans) with it.
 */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description }
}

/** An error answer (`{ error, message, … }`, errors.ts) documented with why it happens. */
export function problem(description: string) {
  return described(ErrorBody, description)
}

/** 400 for a request whose params, query or body do not match the schema. */
export const INVALID = "Invalid request: `fields` names each wrong field (`body.x`, `query.limit`, …)"
export const invalid = problem(INVALID)
