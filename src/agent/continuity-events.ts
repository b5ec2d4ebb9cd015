/**
 * Events of history compaction, /new continuity, orchestration, schedules, the heartbeat and retention.
 */
import { defineEvent } from "../core/event.ts"
import { Type } from "../core/schema.ts"

export const ContinuityEvent = {
  /** Older messages of a session were summarised; the stored messages are unchanged. */
  Compacted: defineEvent(
    "session.compacted",
    Type.Object({
      sessionId: Type.String(),
      uptoSeq: Type.Number(),
      summarised: Type.Number({ description: "messages newly covered by the summary" }),
      source: Type.String({ description: "model | fallback" }),
      reason: Type.Optional(Type.String({ description: "why the fallback was used" })),
      before: Type.Number({ description: "estimated tokens of the view before" }),
      after: Type.Number({ description: "estimated tokens of the view after" }),
      budget: Type.Number(),
    }),
  ),
  /** /new: a fresh session continues from a summary of the previous one. */
  Continued: defineEvent(
    "session.continued",
    Type.Object({
      sessionId: Type.String(),
      from: Type.String(),
      channel: Type.Union([Type.String(), Type.Null()]),
      source: Type.String(),
    }),
  ),
  /** A message was not run because the session's queue was full (drop policy) or it was merged. */
  Dropped: defineEvent(
    "session.turn.dropped",
    Type.Object({ sessionId: Type.String(), turnId: Type.String(), reason: Type.String() }),
  ),
  ScheduleRun: defineEvent(
    "schedule.run",
    Type.Object({
      scheduleId: Type.String(),
      sessionId: Type.String(),
      due: Type.Number(),
      status: Type.String(),
      delivered: Type.Boolean(),
      error: Type.Optional(Type.String()),
    }),
  ),
  /** A heartbeat turn ran (or was skipped); `suppressed`: it answered that there is nothing to report. */
  HeartbeatRun: defineEvent(
    "heartbeat.run",
    Type.Object({
      sessionId: Type.Union([Type.String(), Type.Null()]),
      status: Type.String({ description: "completed, failed, interrupted, undelivered or skipped" }),
      suppressed: Type.Boolean(),
      delivered: Type.Boolean(),
      reason: Type.Optional(Type.String({ description: "Why it was skipped or failed" })),
    }),
  ),
  RetentionApplied: defineEvent(
    "retention.applied",
    Type.Object({ action: Type.String(), sessions: Type.Number(), bytes: Type.Number(), dryRun: Type.Boolean() }),
  ),
}
