/**
 * Tools for background work: `agent.spawn` starts a subagent (a child session with its own task,
 * provider, tool budget and deadline) and returns at once; `agent.status`, `agent.list` and
 * `agent.cancel` see and stop the session's jobs (subagents and background shell processes alike);
 * `shell.output` reads a background command's output file (kept in the state folder, which no other
 * tool reaches) and `shell.kill` stops it. A job's ending arrives in the session by itself as a note.
 * Every tool sees only the jobs of the session that calls it.
 */
import type { Jobs } from "../../agent/jobs.ts"
import { Type } from "../../core/schema.ts"
import type { Job } from "../../store/jobs.ts"
import type { RegisteredTool } from "../registry.ts"

const JobId = Type.String({ minLength: 1, description: "The job id (job_…) that agent.spawn or shell returned" })

/** What the model sees of a job (no file paths of the state folder). */
function view(job: Job) {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    title: job.title,
    ...(job.childSessionId ? { childSessionId: job.childSessionId, provider: job.provider } : {}),
    ...(job.exitCode !== null ? { exitCode: job.exitCode } : {}),
    ...(job.result !== null ? { result: job.result } : {}),
    ...(job.error ? { error: job.error } : {}),
    startedAt: new Date(job.createdAt).toISOString(),
    ...(job.endedAt ? { endedAt: new Date(job.endedAt).toISOString() } : {}),
  }
}

export function jobTools(jobs: () => Jobs): RegisteredTool[] {
  return [
    {
      name: "agent.spawn",
      source: "builtin",
      description:
        "Start a subagent in the background: a separate session that works on `task` alone (with the same tools) while this conversation goes on. Returns its job id at once; its answer arrives in this session as a note when it is done. Give it everything it needs in `task`: it does not see this conversation.",
      parameters: Type.Object(
        {
          task: Type.String({ minLength: 1, description: "What the subagent should do, self-contained" }),
          provider: Type.Optional(
            Type.String({ description: "Provider profile id for the subagent (default: this session's)" }),
          ),
          maxToolCalls: Type.Optional(
            Type.Integer({ minimum: 1, description: "Its tool-call budget (at most jobs.agentMaxToolCalls)" }),
          ),
          deadlineMs: Type.Optional(
            Type.Integer({
              minimum: 1_000,
              description: "Cancel it if it has not finished after this many ms (at most jobs.agentTimeoutMs)",
            }),
          ),
        },
        { additionalProperties: false },
      ),
      async execute(args, ctx) {
        const input = args as { task: string; provider?: string; maxToolCalls?: number; deadlineMs?: number }
        const job = await jobs().spawn({ sessionId: ctx.sessionId, ...input })
        return `started subagent ${job.id} (session ${job.childSessionId}, provider ${job.provider}); its answer arrives here as a note when it is done. agent.status ${job.id} shows where it is, agent.cancel ${job.id} stops it.`
      },
    },
    {
      name: "agent.status",
      source: "builtin",
      description:
        "Where one background job of this session is: status (running, completed, failed, cancelled, interrupted), its answer or exit code, and why it ended.",
      parameters: Type.Object({ id: JobId }, { additionalProperties: false }),
      async execute(args, ctx) {
        return view(await jobs().get((args as { id: string }).id, ctx.sessionId))
      },
    },
    {
      name: "agent.list",
      source: "builtin",
      description: "This session's background jobs (subagents and background shell commands), newest first.",
      parameters: Type.Object(
        {
          running: Type.Optional(Type.Boolean({ description: "Only the jobs still running" })),
        },
        { additionalProperties: false },
      ),
      async execute(args, ctx) {
        const only = (args as { running?: boolean }).running === true
        const list = (await jobs().list(ctx.sessionId, 50)).filter((job) => !only || job.status === "running")
        return list.length ? list.map(view) : "no background jobs in this session"
      },
    },
    {
      name: "agent.cancel",
      source: "builtin",
      description: "Stop a running background job of this session (a subagent's turn, or a background command).",
      parameters: Type.Object({ id: JobId }, { additionalProperties: false }),
      async execute(args, ctx) {
        const job = await jobs().cancel((args as { id: string }).id, { sessionId: ctx.sessionId, by: "the agent" })
        return `cancelled ${job.kind === "agent" ? "subagent" : "background command"} ${job.id}`
      },
    },
    {
      name: "shell.output",
      source: "builtin",
      description:
        "The output (stdout and stderr interleaved) of a background shell command of this session so far, from the end of its output file.",
      parameters: Type.Object(
        {
          id: JobId,
          bytes: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 1_000_000, description: "How much of the end (default 16000)" }),
          ),
        },
        { additionalProperties: false },
      ),
      async execute(args, ctx) {
        const { id, bytes } = args as { id: string; bytes?: number }
        const { job, text, size } = await jobs().output(id, { sessionId: ctx.sessionId, bytes })
        const head = `${job.status}${job.exitCode !== null ? ` (exit code ${job.exitCode})` : ""}; ${size} bytes of output${size > text.length ? `, the last ${text.length} shown` : ""}`
        return `${head}\n${text}`
      },
    },
    {
      name: "shell.kill",
      source: "builtin",
      description: "Kill a background shell command of this session and every process it started.",
      parameters: Type.Object({ id: JobId }, { additionalProperties: false }),
      async execute(args, ctx) {
        const id = (args as { id: string }).id
        const service = jobs()
        if ((await service.get(id, ctx.sessionId)).kind !== "shell")
          throw new Error(`${id} is a subagent, not a shell command: use agent.cancel`)
        await service.cancel(id, { sessionId: ctx.sessionId, by: "shell.kill" })
        return `killed background command ${id} and its processes`
      },
    },
  ]
}
