/**
 * Events of sessions, turns, provider calls and tool calls, declared once. The bus, the JSONL sink and
 * the SSE stream all derive from these declarations.
 */
import { defineEvent } from "../core/event.ts"
import { Usage } from "../core/message.ts"
import { Type } from "../core/schema.ts"

const ids = { sessionId: Type.String(), turnId: Type.String() }

export const SessionEvent = {
  Created: defineEvent(
    "session.created",
    Type.Object({
      sessionId: Type.String(),
      provider: Type.String(),
      channel: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  Deleted: defineEvent("session.deleted", Type.Object({ sessionId: Type.String() })),
  ProviderSwitched: defineEvent(
    "session.provider.switched",
    Type.Object({ sessionId: Type.String(), from: Type.String(), to: Type.String() }),
  ),
  Message: defineEvent(
    "session.message",
    Type.Object({ ...ids, messageId: Type.String(), seq: Type.Number(), role: Type.String() }),
  ),
}

export const TurnEvent = {
  Queued: defineEvent("session.turn.queued", Type.Object({ ...ids, messageId: Type.String(), source: Type.String() })),
  Started: defineEvent("session.turn.started", Type.Object({ ...ids, provider: Type.String() })),
  Delta: defineEvent("session.turn.delta", Type.Object({ ...ids, text: Type.String() }), { ephemeral: true }),
  /**
   * The text streamed so far in this step is void: its provider failed mid-answer and the step restarts
   * on the next candidate. Channels drop the last `chars` characters they showed for this turn.
   */
  Discard: defineEvent(
    "session.turn.discard",
    Type.Object({ ...ids, step: Type.Number(), chars: Type.Number(), reason: Type.String() }),
  ),
  Completed: defineEvent(
    "session.turn.completed",
    Type.Object({
      ...ids,
      text: Type.String(),
      usage: Usage,
      steps: Type.Number(),
      toolCalls: Type.Number(),
      durationMs: Type.Number(),
    }),
  ),
  Failed: defineEvent("session.turn.failed", Type.Object({ ...ids, reason: Type.String(), durationMs: Type.Number() })),
  Interrupted: defineEvent("session.turn.interrupted", Type.Object({ ...ids, reason: Type.String() })),
}

export const ProviderEvent = {
  Request: defineEvent(
    "provider.request",
    Type.Object({
      ...ids,
      provider: Type.String(),
      model: Type.String(),
      step: Type.Number(),
      messages: Type.Number(),
    }),
  ),
  Response: defineEvent(
    "provider.response",
    Type.Object({
      ...ids,
      provider: Type.String(),
      model: Type.String(),
      step: Type.Number(),
      usage: Usage,
      latencyMs: Type.Number(),
      stop: Type.String(),
    }),
  ),
  /** One candidate of the failover list starts serving a step (every attempt is an event). */
  Attempt: defineEvent(
    "provider.attempt",
    Type.Object({ ...ids, provider: Type.String(), model: Type.String(), step: Type.Number(), attempt: Type.Number() }),
  ),
  /** A candidate failed and the router moves on; `cooldownMs` is how long it is skipped. */
  AttemptFailed: defineEvent(
    "provider.attempt.failed",
    Type.Object({
      ...ids,
      provider: Type.String(),
      model: Type.String(),
      step: Type.Number(),
      kind: Type.String(),
      message: Type.String(),
      status: Type.Optional(Type.Number()),
      cooldownMs: Type.Number(),
      latencyMs: Type.Number(),
      retryInMs: Type.Optional(
        Type.Number({ description: "Set when the same provider is tried again after this wait (failover.retry)" }),
      ),
    }),
  ),
  Error: defineEvent(
    "provider.error",
    Type.Object({
      ...ids,
      provider: Type.String(),
      model: Type.String(),
      step: Type.Number(),
      kind: Type.String(),
      message: Type.String(),
      latencyMs: Type.Number(),
    }),
  ),
}

export const ToolEvent = {
  Started: defineEvent(
    "tool.call.started",
    Type.Object({ ...ids, callId: Type.String(), name: Type.String(), args: Type.Unknown() }),
  ),
  Completed: defineEvent(
    "tool.call.completed",
    Type.Object({
      ...ids,
      callId: Type.String(),
      name: Type.String(),
      isError: Type.Boolean(),
      output: Type.String(),
      durationMs: Type.Number(),
    }),
  ),
}
