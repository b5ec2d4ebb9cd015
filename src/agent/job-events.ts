/**
 * Events of background work: a job started, and a job ended (with its status). Declared once; the bus,
 * the JSONL sink and the SSE stream derive from these.
 */
import { defineEvent } from "../core/event.ts"
import { Type } from "../core/schema.ts"

const job = {
  jobId: Type.String(),
  kind: Type.Union([Type.Literal("agent"), Type.Literal("shell")]),
  sessionId: Type.String({ description: "The session that started the job" }),
}

export const JobEvent = {
  Started: defineEvent(
    "job.started",
    Type.Object({ ...job, title: Type.String(), childSessionId: Type.Union([Type.String(), Type.Null()]) }),
  ),
  Ended: defineEvent(
    "job.ended",
    Type.Object({
      ...job,
      status: Type.Union([
        Type.Literal("completed"),
        Type.Literal("failed"),
        Type.Literal("cancelled"),
        Type.Literal("interrupted"),
      ]),
      error: Type.Union([Type.String(), Type.Null()]),
      exitCode: Type.Union([Type.Integer(), Type.Null()]),
    }),
  ),
}
