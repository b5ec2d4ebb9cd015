/**
 * Background work: subagents (`agent.spawn`) and background shell processes (`shell` with
 * `background: true`), run as jobs while the session that started them stays free.
 *
 * A subagent is a child session (channel `agent`, keyed by its parent) with its own lane, so its turns
 * never wait behind the parent's or hold the parent up; it runs the task as one turn with its own
 * provider, tool budget and deadline. A shell job is the sandbox-wrapped command the shell tool
 * prepared, with its output in a file under the state folder (the model reads it with `shell.output`).
 *
 * Every job is in the store before it starts and ends exactly once (`completed`, `failed`, `cancelled`
 * or `interrupted`). Its ending is delivered to the parent session as a `system` note (the model sees
 * it in the next turn's history), on the bus (`job.ended`) and to the parent's channel chat when it has
 * one. After a crash, `recover()` ends every job left `running` as `interrupted` and delivers every
 * ending whose note was not stored yet: no job is lost silently. With several gateways on one store it
 * takes only the jobs of gateways that are gone (the contract's `{ gone: { self, staleMs } }`, the turns'
 * rule, judged in the store), at start and on every heartbeat; `{ owner }` takes one gateway's own; a
 * gateway's stop ends only its own. Every read and write goes through the store contract (`gw.data.jobs`,
 * `gw.data.sessions`), so the same service runs on SQLite and on PostgreSQL.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from "node:fs"
import { join } from "node:path"
import type { Bus } from "../bus/bus.ts"
import { Busy, DrostError, Invalid, NotFound } from "../core/error.ts"
import type { JobsConfig } from "../core/jobs-config.ts"
import type { JobsContract, RecoveryScope, SessionsContract } from "../store/engine/contract.ts"
import type { Job, JobEnd } from "../store/jobs.ts"
import type { Session } from "../store/sessions.ts"
import type { BackgroundCommand } from "../tool/builtin/shell.ts"
import type { Logger } from "../util/log.ts"
import { SessionEvent, TurnEvent } from "./events.ts"
import { JobEvent } from "./job-events.ts"
import type { Sessions } from "./session.ts"
import { type ShellProcess, spawnShell } from "./shell-job.ts"

/** Posts a note to the chat a session belongs to; false when it has none (or its channel is not up). */
export type SessionDeliver = (session: Session, text: string) => Promise<boolean>

export interface JobsDeps {
  /** The store contract's jobs (the gateway's `gw.data.jobs`): it records the store's owner on each job. */
  jobs: JobsContract
  /** The store contract's sessions (the gateway's `gw.data.sessions`): parents, children and notes. */
  store: SessionsContract
  sessions: () => Sessions
  bus: Bus
  limits: () => JobsConfig
  deliver: SessionDeliver
  /** Where shell jobs' output files go (inside the state folder: no tool reaches it directly). */
  outputDir: string
  log: Logger
}

export interface SpawnInput {
  sessionId: string
  task: string
  provider?: string
  maxToolCalls?: number
  deadlineMs?: number
}

/** Characters of a job's answer or output kept in the note to its parent (the rest stays readable). */
const NOTE_CHARS = 2_000
/** The channel of a subagent's session; a subagent may not start subagents of its own. */
export const AGENT_CHANNEL = "agent"

export type Jobs = ReturnType<typeof createJobs>

export class JobLimit extends DrostError {
  constructor(message: string) {
    super("Busy", message)
  }
}

function tail(text: string, chars: number): string {
  return text.length <= chars ? text : `… ${text.slice(-chars)}`
}

/** The last `bytes` of a file, decoded (a cut multi-byte character at the start is dropped). */
function readTail(file: string, bytes: number): { text: string; size: number } {
  const fd = openSync(file, "r")
  try {
    const size = fstatSync(fd).size
    const start = Math.max(0, size - bytes)
    const buffer = Buffer.alloc(size - start)
    readSync(fd, buffer, 0, buffer.length, start)
    return { text: buffer.toString("utf8").replace(/^\uFFFD+/, ""), size }
  } finally {
    closeSync(fd)
  }
}

export function createJobs(deps: JobsDeps) {
  const { jobs, log } = deps
  /**
   * Jobs of this process that are still running: the job as created and how to stop it. Only a job still
   * here is ended by its own process's exit or its turn's end: one that left (cancelled, stopped, its
   * session deleted) was ended, or dropped, by whoever took it out.
   */
  const live = new Map<string, { job: Job; stop(why: string): void; done: Promise<void> }>()
  /** Notes stored in their session whose chat could not be reached yet (its channel was not up). */
  let undelivered: { sessionId: string; text: string }[] = []
  let stopping = false

  /** Jobs admitted and still starting (awaiting the store), by session: they count against the limits. */
  const starting: string[] = []
  /** Take a place within the limits; the returned function gives it back once the job is live (or failed). */
  const admit = (sessionId: string): (() => void) => {
    if (stopping) throw new Busy("the gateway is stopping; start the job again after it restarts")
    const limits = deps.limits()
    const mine =
      [...live.values()].filter((handle) => handle.job.sessionId === sessionId).length +
      starting.filter((id) => id === sessionId).length
    if (mine >= limits.maxPerSession)
      throw new JobLimit(
        `this session already has ${mine} background jobs running (jobs.maxPerSession ${limits.maxPerSession}); wait for one to end (agent.list) or cancel one (agent.cancel)`,
      )
    const total = live.size + starting.length
    if (total >= limits.maxTotal)
      throw new JobLimit(
        `${total} background jobs are running in this gateway (jobs.maxTotal ${limits.maxTotal}); wait for one to end or cancel one`,
      )
    starting.push(sessionId)
    return () => {
      const index = starting.indexOf(sessionId)
      if (index >= 0) starting.splice(index, 1)
    }
  }

  const describe = (job: Job): string => {
    const what =
      job.kind === "agent"
        ? `subagent ${job.id} ("${tail(job.title, 80)}")`
        : `shell job ${job.id} (${tail(job.title, 80)})`
    switch (job.status) {
      case "completed":
        return job.kind === "agent"
          ? `Background ${what} finished:\n${tail(job.result || "(it produced no text)", NOTE_CHARS)}${(job.result?.length ?? 0) > NOTE_CHARS ? `\n(the whole answer: agent.status ${job.id})` : ""}`
          : `Background ${what} exited with code 0.${output(job)}`
      case "failed":
        return `Background ${what} failed: ${job.error ?? "unknown reason"}.${job.kind === "shell" ? output(job) : ""}`
      case "cancelled":
        return `Background ${what} was cancelled: ${job.error ?? "cancelled"}.`
      case "interrupted":
        return `Background ${what} was interrupted: ${job.error ?? "the gateway stopped"}. It did not finish; start it again if it is still needed.`
      default:
        return `Background ${what} is running.`
    }
  }
  const output = (job: Job): string => {
    if (!job.outputFile) return ""
    try {
      const { text, size } = readTail(job.outputFile, NOTE_CHARS)
      if (size === 0) return " It wrote no output."
      return `\nLast output${size > NOTE_CHARS ? ` (all ${size} bytes: shell.output ${job.id})` : ""}:\n${text}`
    } catch {
      return ""
    }
  }

  /**
   * Store the ending as a note in the parent session, publish it, and post it to the parent's chat.
   * While the parent has a turn running, the note waits for that turn to end: stored mid-turn it could
   * land between a step's tool calls and their results, a history no provider accepts.
   */
  async function notify(job: Job) {
    if (deps.sessions().runningTurn(job.sessionId)) {
      held.set(job.sessionId, [...(held.get(job.sessionId) ?? []), job])
      return
    }
    const text = describe(job)
    let session: Session
    try {
      session = await deps.store.require(job.sessionId)
    } catch {
      await jobs.markNotified(job.id) // the parent session was deleted: nobody to tell
      return
    }
    const stored = await deps.store.append({
      sessionId: job.sessionId,
      turnId: null,
      role: "system",
      parts: [{ type: "text", text }],
    })
    await jobs.markNotified(job.id)
    deps.bus.publish(SessionEvent.Message, {
      sessionId: job.sessionId,
      turnId: "",
      messageId: stored.id,
      seq: stored.seq,
      role: "system",
    })
    if (!(await post(session, text))) {
      undelivered.push({ sessionId: session.id, text })
      // Bounded: a session whose channel never comes up must not grow this forever.
      if (undelivered.length > 100) undelivered.shift()
    }
  }
  /** Notes being written, so that `stop()` can wait for them. */
  const notifying = new Set<Promise<void>>()
  const noted = (job: Job) => {
    const note = notify(job)
      .catch((error) => log.warn("job notice failed", { job: job.id, error: String(error) }))
      .finally(() => notifying.delete(note))
    notifying.add(note)
  }
  /** Notes held back while their session's turn runs, by session; released when that turn ends. */
  const held = new Map<string, Job[]>()
  const release = (event: { data: { sessionId: string } }) => {
    const waiting = held.get(event.data.sessionId)
    if (!waiting || deps.sessions().runningTurn(event.data.sessionId)) return
    held.delete(event.data.sessionId)
    for (const job of waiting) noted(job)
  }
  for (const def of [TurnEvent.Completed, TurnEvent.Failed, TurnEvent.Interrupted]) deps.bus.subscribe(def, release)
  // A deleted session takes its job rows with it (cascade): its running jobs stop too.
  deps.bus.subscribe(SessionEvent.Deleted, (event) => {
    held.delete(event.data.sessionId)
    for (const [id, handle] of [...live])
      if (handle.job.sessionId === event.data.sessionId) {
        live.delete(id)
        handle.stop("cancelled: the session that started it was deleted")
      }
  })
  const post = async (session: Session, text: string): Promise<boolean> => {
    if (!session.channel || session.channel === "api") return true
    try {
      return await deps.deliver(session, text)
    } catch (error) {
      log.warn("job notice not delivered to its chat", { session: session.id, error: String(error) })
      return true // tried and failed: stored in the session all the same, not retried forever
    }
  }

  const ended = (job: Job) =>
    deps.bus.publish(JobEvent.Ended, {
      jobId: job.id,
      kind: job.kind,
      sessionId: job.sessionId,
      status: job.status as Exclude<Job["status"], "running">,
      error: job.error,
      exitCode: job.exitCode,
    })
  const end = async (id: string, result: JobEnd) => {
    live.delete(id)
    if (!(await jobs.finish(id, result))) return // already ended (cancelled first)
    const job = await jobs.get(id)
    if (!job) return
    ended(job)
    noted(job)
  }
  /** A live job's own ending (its process exited, its turn ended); ignored once it left `live`. */
  const ownEnd = (id: string, result: JobEnd) => {
    if (!live.has(id)) return
    end(id, result).catch((error) => log.warn("job ending not stored", { job: id, error: String(error) }))
  }

  const running = async (id: string, sessionId?: string): Promise<Job> => {
    const job = await jobs.get(id)
    if (!job || (sessionId !== undefined && job.sessionId !== sessionId)) throw new NotFound("job", id)
    return job
  }

  const service = {
    /** Start a subagent: a child session that runs `task` as one turn while the parent stays free. */
    async spawn(input: SpawnInput): Promise<Job> {
      const parent = await deps.store.require(input.sessionId)
      if (parent.channel === AGENT_CHANNEL) throw new Invalid("a subagent cannot start subagents of its own")
      const task = input.task.trim()
      if (!task) throw new Invalid("the task is empty: say what the subagent should do")
      const release = admit(parent.id)
      try {
        const limits = deps.limits()
        if (input.deadlineMs !== undefined && input.deadlineMs > limits.agentTimeoutMs)
          throw new Invalid(`deadlineMs ${input.deadlineMs} is over jobs.agentTimeoutMs (${limits.agentTimeoutMs})`)
        if (input.maxToolCalls !== undefined && input.maxToolCalls > limits.agentMaxToolCalls)
          throw new Invalid(
            `maxToolCalls ${input.maxToolCalls} is over jobs.agentMaxToolCalls (${limits.agentMaxToolCalls})`,
          )
        const deadlineMs = input.deadlineMs ?? limits.agentTimeoutMs
        const sessions = deps.sessions()
        const child = await sessions.create({
          title: `subagent: ${tail(task, 60)}`,
          provider: input.provider ?? parent.provider,
          channel: AGENT_CHANNEL,
          channelKey: parent.id,
          metadata: { parentSessionId: parent.id },
        })
        const job = await jobs.create({
          kind: "agent",
          sessionId: parent.id,
          title: task,
          childSessionId: child.id,
          provider: child.provider,
          deadlineAt: Date.now() + deadlineMs,
        })
        deps.bus.publish(JobEvent.Started, {
          jobId: job.id,
          kind: "agent",
          sessionId: parent.id,
          title: task,
          childSessionId: child.id,
        })
        const accepted = await sessions.prompt({
          sessionId: child.id,
          text: task,
          source: "agent",
          limits: { maxToolCalls: input.maxToolCalls ?? limits.agentMaxToolCalls },
        })
        const deadline = setTimeout(
          () =>
            sessions.abort(
              child.id,
              `deadline: the subagent did not finish within ${deadlineMs} ms (${input.deadlineMs === undefined ? "jobs.agentTimeoutMs" : "deadlineMs"})`,
            ),
          deadlineMs,
        )
        const done = accepted.done.then(
          (result) => {
            clearTimeout(deadline)
            const shutdown = result.status === "interrupted"
            ownEnd(job.id, {
              status: result.status === "completed" ? "completed" : shutdown ? "interrupted" : "failed",
              result: result.text,
              error: result.reason,
            })
          },
          (error) => {
            clearTimeout(deadline)
            ownEnd(job.id, { status: "failed", error: String(error) })
          },
        )
        live.set(job.id, {
          job,
          stop: (why) => sessions.abort(child.id, why),
          done,
        })
        return job
      } finally {
        release()
      }
    },

    /** Start a background shell process (the shell tool prepared and wrapped it). */
    shell: {
      async start(command: BackgroundCommand): Promise<{ id: string }> {
        await deps.store.require(command.sessionId)
        const release = admit(command.sessionId)
        try {
          const limits = deps.limits()
          mkdirSync(deps.outputDir, { recursive: true, mode: 0o700 })
          const job = await jobs.create({
            kind: "shell",
            sessionId: command.sessionId,
            title: command.command,
            outputFile: (id) => join(deps.outputDir, `${id}.log`),
            deadlineAt: Date.now() + limits.shellTimeoutMs,
          })
          let proc: ShellProcess
          try {
            proc = spawnShell({
              wrapped: command.wrapped,
              cwd: command.cwd,
              file: job.outputFile!,
              outputBytes: limits.outputBytes,
              timeoutMs: limits.shellTimeoutMs,
            })
          } catch (error) {
            await end(job.id, { status: "failed", error: `cannot start: ${(error as Error).message}` }).catch(
              (stored) => log.warn("job ending not stored", { job: job.id, error: String(stored) }),
            )
            throw error
          }
          // Started is published before anything awaits: its ending (a quick exit) is published after it.
          deps.bus.publish(JobEvent.Started, {
            jobId: job.id,
            kind: "shell",
            sessionId: command.sessionId,
            title: command.command,
            childSessionId: null,
          })
          const done = proc.exited.then(
            (exit) => {
              const removed = command.after()
              const notes = [
                exit.dropped ? `${exit.dropped} bytes of output beyond jobs.outputBytes were dropped` : "",
                removed.length ? `removed ${removed.join(", ")}: loaded code changes only through evolve` : "",
              ].filter(Boolean)
              const extra = notes.length ? ` (${notes.join("; ")})` : ""
              if (exit.killed)
                ownEnd(job.id, {
                  status: exit.killed.startsWith("shutdown") ? "interrupted" : "failed",
                  error: `killed: ${exit.killed}${extra}`,
                })
              else if (exit.code === 0) ownEnd(job.id, { status: "completed", exitCode: 0, error: extra || null })
              else ownEnd(job.id, { status: "failed", exitCode: exit.code, error: `exit code ${exit.code}${extra}` })
            },
            (error) => ownEnd(job.id, { status: "failed", error: String(error) }),
          )
          live.set(job.id, { job, stop: (why) => proc.kill(why), done })
          await jobs.setPid(job.id, proc.pid)
          return { id: job.id }
        } finally {
          release()
        }
      },
    },

    get: (id: string, sessionId?: string): Promise<Job> => running(id, sessionId),
    /** Newest first; one session's jobs, or all. */
    list: (sessionId?: string, limit = 100): Promise<Job[]> =>
      sessionId ? jobs.ofSession(sessionId, limit) : jobs.list(limit),
    /** Running in this process, per session and in total, against the limits. */
    counts() {
      const perSession: Record<string, number> = {}
      for (const { job } of live.values()) perSession[job.sessionId] = (perSession[job.sessionId] ?? 0) + 1
      const limits = deps.limits()
      return {
        running: live.size,
        perSession,
        maxPerSession: limits.maxPerSession,
        maxTotal: limits.maxTotal,
      }
    },

    /** Cancel a running job: a subagent's turn is aborted, a shell job's process tree killed. */
    async cancel(id: string, options: { sessionId?: string; by?: string } = {}): Promise<Job> {
      const job = await running(id, options.sessionId)
      if (job.status !== "running") throw new Invalid(`job ${id} is not running (it ended ${job.status})`)
      const why = `cancelled by ${options.by ?? "the agent"}`
      const handle = live.get(id)
      const ending = end(id, { status: "cancelled", error: why })
      handle?.stop(why)
      await ending
      return (await jobs.get(id)) ?? job
    },

    /** A shell job's output: the last `bytes` of its file. */
    async output(id: string, options: { sessionId?: string; bytes?: number } = {}) {
      const job = await running(id, options.sessionId)
      if (job.kind !== "shell" || !job.outputFile)
        throw new Invalid(`job ${id} is a subagent: agent.status shows its answer`)
      try {
        const { text, size } = readTail(job.outputFile, options.bytes ?? 16_000)
        return { job, text, size }
      } catch {
        return { job, text: "", size: 0 }
      }
    },

    /**
     * At start and on every heartbeat: running jobs whose gateway is gone (`scope`, the contract's: `{ gone:
     * { self, staleMs } }` judged in the store as turns are; `{ owner }`, one gateway's; none: every running
     * job) end as interrupted (their processes and turns died with it), and every ending such a gateway had
     * not noted in its parent session yet is noted now. Both are taken over in the store first, so of two
     * gateways recovering at once one writes each note. Resolves to the jobs it ended, each with why its
     * gateway is gone, once the notes are delivered. A gateway pruned from the registry meanwhile is still
     * gone to the judge (not registered), so pruning beside this takes nothing from it.
     */
    recover(scope?: RecoveryScope): Promise<(Job & { why: string | null })[]> {
      const run = (async () => {
        const lost = await jobs.recoverInterrupted("the gateway stopped (crash or kill) while it ran", scope)
        for (const job of lost) {
          ended(job)
          log.warn("background job interrupted: its gateway is gone", { job: job.id, why: job.why })
        }
        // What it ended is its own now (so no scope picks it again): noted with the gone gateways' leftovers.
        const taken = new Set(lost.map((job) => job.id))
        const notes = [...lost, ...(await jobs.claimUnnotified(scope)).filter((job) => !taken.has(job.id))]
        for (const job of notes) await notify(job)
        return lost
      })()
      // The gateway awaits (or catches) it after its other recovery steps: a store that fails meanwhile
      // must not count as an unhandled rejection, which would end the process.
      run.catch(() => {})
      return run
    },

    /** A channel came up: post the notes that were waiting for it. */
    async flush() {
      const waiting = undelivered
      undelivered = []
      for (const note of waiting) {
        const session = await deps.store.get(note.sessionId)
        if (session && !(await post(session, note.text))) undelivered.push(note)
      }
    },

    /**
     * At stop: shell processes end as interrupted and are killed; subagents' turns drain with the others
     * and end with their outcome. The gateway calls this from its synchronous cleanup, just before the bus's
     * sinks close and the store is closed: so `job.ended` is published now (from the job as this process
     * knows it: live, so not ended by it yet) and each ending is written by id as it is called (on SQLite
     * before this returns). The note is left to the next recovery (a peer's sweep or the next start claims
     * it: this gateway is no longer registered): written now, its `notified` mark could be cut off by the
     * store's close and the note written twice. Resolves once the endings and the notes under way are
     * stored (never rejects).
     */
    stop(): Promise<void> {
      stopping = true
      const result = { status: "interrupted", error: "the gateway stopped while it ran" } as const
      const writes: Promise<unknown>[] = [...notifying]
      for (const [id, handle] of [...live]) {
        if (handle.job.kind !== "shell") continue
        live.delete(id)
        ended({ ...handle.job, ...result, endedAt: Date.now() })
        const write = jobs.finish(id, result)
        writes.push(
          write.catch((error) => log.warn("job ending at stop not stored", { job: id, error: String(error) })),
        )
        handle.stop("shutdown: the gateway stopped")
      }
      return Promise.all(writes).then(() => {})
    },
  }
  return service
}
