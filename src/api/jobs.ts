/**
 * Background jobs over the Control API: subagents (`agent.spawn`) and background shell commands, listed,
 * read (a shell job's output too) and cancelled. Cancelling is a mutation: the guard in app.ts admits
 * only the admin token.
 */
import { Elysia, t } from "elysia"
import { DrostError, NotFound } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { Job } from "../store/jobs.ts"
import { described, problem } from "./schemas.ts"

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T, description?: string) =>
  t.Union([schema, t.Null()], description ? { description } : {})

export const JobSchema = t.Object(
  {
    id: t.String({ description: "job_…" }),
    kind: t.Union([t.Literal("agent"), t.Literal("shell")], {
      description: "agent: a subagent (agent.spawn); shell: a background shell command",
    }),
    sessionId: t.String({ description: "The session that started it; its ending is noted there" }),
    status: t.Union(
      [
        t.Literal("running"),
        t.Literal("completed"),
        t.Literal("failed"),
        t.Literal("cancelled"),
        t.Literal("interrupted"),
      ],
      { description: "interrupted: the gateway stopped (or crashed) while it ran" },
    ),
    title: t.String({ description: "The subagent's task, or the command line" }),
    childSessionId: Nullable(t.String(), "A subagent's own session"),
    provider: Nullable(t.String(), "A subagent's provider profile"),
    pid: Nullable(t.Integer(), "A shell job's process (group) id"),
    exitCode: Nullable(t.Integer()),
    result: Nullable(t.String(), "A subagent's answer"),
    error: Nullable(t.String(), "Why it failed, was cancelled or interrupted"),
    createdAt: t.Number(),
    deadlineAt: Nullable(t.Number(), "When it is stopped if still running"),
    endedAt: Nullable(t.Number()),
    notifiedAt: Nullable(t.Number(), "When its ending was noted in the parent session"),
  },
  { description: "A background job" },
)

/** The API's view: everything but the output file's path in the state folder. */
const view = ({ outputFile: _, ...job }: Job) => job

const JobCounts = t.Object(
  {
    running: t.Integer({ description: "Jobs running now" }),
    perSession: t.Record(t.String(), t.Integer(), { description: "Running jobs by session id" }),
    maxPerSession: t.Integer({ description: "jobs.maxPerSession" }),
    maxTotal: t.Integer({ description: "jobs.maxTotal" }),
  },
  { description: "Background jobs running now, against the limits" },
)
export { JobCounts }

const id = t.Object({ id: t.String({ description: "Job id (job_…)" }) })
const missing = (jobId: string) => ({
  error: "NotFound",
  message: `no job "${jobId}"; GET /control/v1/jobs lists them`,
})

export function jobRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/jobs",
      async ({ query }) => ({
        jobs: (await gw.jobs.list(query.session, query.limit ?? 100)).map(view),
        ...gw.jobs.counts(),
      }),
      {
        query: t.Object({
          session: t.Optional(t.String({ description: "Only the jobs this session started" })),
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 1000, description: "At most this many (default 100)" })),
        }),
        response: {
          200: t.Composite([t.Object({ jobs: t.Array(JobSchema) }), JobCounts], {
            description: "Jobs, newest first, and the running counts against the limits",
          }),
        },
        detail: {
          operationId: "listJobs",
          tags: ["sessions"],
          summary: "Background jobs",
          description:
            "Subagents started with agent.spawn and background shell commands (`shell` with background: true), newest first. `job.started` and `job.ended` on /control/v1/events announce changes.",
        },
      },
    )
    .get(
      "/jobs/:id",
      async ({ params, status }) => {
        try {
          return view(await gw.jobs.get(params.id))
        } catch (error) {
          if (!(error instanceof NotFound)) throw error
          return status(404, missing(params.id))
        }
      },
      {
        params: id,
        response: { 200: described(JobSchema, "The job"), 404: problem("No such job") },
        detail: {
          operationId: "getJob",
          tags: ["sessions"],
          summary: "One background job",
          description:
            "Its status, a subagent's answer (`result`) or a command's exit code, and why it failed, was cancelled or was interrupted.",
        },
      },
    )
    .get(
      "/jobs/:id/output",
      async ({ params, query, status }) => {
        try {
          const { job, text, size } = await gw.jobs.output(params.id, { bytes: query.bytes })
          return { id: job.id, status: job.status, size, text }
        } catch (error) {
          if (error instanceof NotFound) return status(404, missing(params.id))
          if (error instanceof DrostError) return status(400, { error: error.code, message: error.message })
          throw error
        }
      },
      {
        params: id,
        query: t.Object({
          bytes: t.Optional(
            t.Integer({ minimum: 1, maximum: 10_000_000, description: "How much of the end (default 16000)" }),
          ),
        }),
        response: {
          200: t.Object(
            {
              id: t.String(),
              status: t.String(),
              size: t.Integer({ description: "Bytes in the output file" }),
              text: t.String({ description: "The end of the output (stdout and stderr interleaved)" }),
            },
            { description: "A shell job's output so far" },
          ),
          400: problem("The job is a subagent (its answer is in `result`)"),
          404: problem("No such job"),
        },
        detail: {
          operationId: "getJobOutput",
          tags: ["sessions"],
          summary: "A background command's output",
          description:
            "The end of what a background shell command wrote so far (stdout and stderr interleaved, at most jobs.outputBytes are kept). 400 for a subagent: its answer is the job's `result`.",
        },
      },
    )
    .delete(
      "/jobs/:id",
      async ({ params, status }) => {
        try {
          return view(await gw.jobs.cancel(params.id, { by: "the Control API" }))
        } catch (error) {
          if (error instanceof NotFound) return status(404, missing(params.id))
          if (error instanceof DrostError) return status(409, { error: "Busy", message: error.message })
          throw error
        }
      },
      {
        params: id,
        response: {
          200: described(JobSchema, "Cancelled: a subagent's turn is aborted, a command's process tree killed"),
          404: problem("No such job"),
          409: problem("The job has already ended"),
        },
        detail: {
          operationId: "cancelJob",
          tags: ["sessions"],
          summary: "Cancel a background job",
          description: "Needs the admin token. The parent session gets a note that it was cancelled.",
        },
      },
    )
}
