/**
 * The jobs table: background work a session started (an `agent.spawn` subagent, a `shell` with
 * `background: true`). A job is written before it starts and updated when it ends, so a restart finds
 * every job that was running (and reports it interrupted) and every ending whose notice has not reached
 * the parent session yet (`notified_at` is still null).
 */
import type { Database } from "bun:sqlite"
import { Id } from "../core/id.ts"

export type JobKind = "agent" | "shell"
export type JobStatus = "running" | "completed" | "failed" | "cancelled" | "interrupted"

export interface Job {
  id: string
  kind: JobKind
  /** The session that started it; its ending is delivered there. */
  sessionId: string
  status: JobStatus
  /** The subagent's task, or the command line. */
  title: string
  /** A subagent's own session. */
  childSessionId: string | null
  provider: string | null
  pid: number | null
  /** A shell job's output file (under the state folder; read through shell.output). */
  outputFile: string | null
  exitCode: number | null
  /** A subagent's final answer. */
  result: string | null
  error: string | null
  createdAt: number
  deadlineAt: number | null
  endedAt: number | null
  notifiedAt: number | null
}

interface Row {
  id: string
  kind: JobKind
  session_id: string
  status: JobStatus
  title: string
  child_session_id: string | null
  provider: string | null
  pid: number | null
  output_file: string | null
  exit_code: number | null
  result: string | null
  error: string | null
  created_at: number
  deadline_at: number | null
  ended_at: number | null
  notified_at: number | null
}

const toJob = (row: Row): Job => ({
  id: row.id,
  kind: row.kind,
  sessionId: row.session_id,
  status: row.status,
  title: row.title,
  childSessionId: row.child_session_id,
  provider: row.provider,
  pid: row.pid,
  outputFile: row.output_file,
  exitCode: row.exit_code,
  result: row.result,
  error: row.error,
  createdAt: row.created_at,
  deadlineAt: row.deadline_at,
  endedAt: row.ended_at,
  notifiedAt: row.notified_at,
})

export interface NewJob {
  kind: JobKind
  sessionId: string
  title: string
  childSessionId?: string | null
  provider?: string | null
  /** A shell job's output file, named after the job's id. */
  outputFile?: (id: string) => string
  deadlineAt?: number | null
}

export interface JobEnd {
  status: Exclude<JobStatus, "running">
  exitCode?: number | null
  result?: string | null
  error?: string | null
}

export type JobStore = ReturnType<typeof createJobStore>

export function createJobStore(db: Database) {
  const q = {
    insert: db.query(
      `INSERT INTO jobs (id, kind, session_id, status, title, child_session_id, provider, output_file, created_at, deadline_at)
       VALUES ($id, $kind, $sessionId, 'running', $title, $child, $provider, $output, $now, $deadline)`,
    ),
    get: db.query<Row, { id: string }>("SELECT * FROM jobs WHERE id = $id"),
    list: db.query<Row, { limit: number }>("SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT $limit"),
    ofSession: db.query<Row, { sessionId: string; limit: number }>(
      "SELECT * FROM jobs WHERE session_id = $sessionId ORDER BY created_at DESC, id DESC LIMIT $limit",
    ),
    running: db.query<Row, []>("SELECT * FROM jobs WHERE status = 'running' ORDER BY created_at"),
    unnotified: db.query<Row, []>(
      "SELECT * FROM jobs WHERE status != 'running' AND notified_at IS NULL ORDER BY ended_at, id",
    ),
    setPid: db.query("UPDATE jobs SET pid = $pid WHERE id = $id"),
    setChild: db.query("UPDATE jobs SET child_session_id = $child, provider = $provider WHERE id = $id"),
    // Only a running job ends: a late exit after a cancel (or a second ending) changes nothing.
    finish: db.query(
      `UPDATE jobs SET status = $status, exit_code = $exitCode, result = $result, error = $error, ended_at = $now
       WHERE id = $id AND status = 'running'`,
    ),
    notified: db.query("UPDATE jobs SET notified_at = $now WHERE id = $id"),
  }
  const get = (id: string): Job | null => {
    const row = q.get.get({ id })
    return row ? toJob(row) : null
  }
  return {
    create(input: NewJob): Job {
      const now = Date.now()
      const id = Id.create("job", now)
      q.insert.run({
        id,
        kind: input.kind,
        sessionId: input.sessionId,
        title: input.title,
        child: input.childSessionId ?? null,
        provider: input.provider ?? null,
        output: input.outputFile?.(id) ?? null,
        now,
        deadline: input.deadlineAt ?? null,
      })
      return get(id)!
    },
    get,
    list: (limit = 100): Job[] => q.list.all({ limit }).map(toJob),
    ofSession: (sessionId: string, limit = 100): Job[] => q.ofSession.all({ sessionId, limit }).map(toJob),
    running: (): Job[] => q.running.all().map(toJob),
    unnotified: (): Job[] => q.unnotified.all().map(toJob),
    setPid: (id: string, pid: number) => void q.setPid.run({ id, pid }),
    setChild: (id: string, child: string, provider: string) => void q.setChild.run({ id, child, provider }),
    /** End a running job; false when it had already ended (the first ending wins). */
    finish(id: string, end: JobEnd): boolean {
      return (
        q.finish.run({
          id,
          status: end.status,
          exitCode: end.exitCode ?? null,
          result: end.result ?? null,
          error: end.error ?? null,
          now: Date.now(),
        }).changes === 1
      )
    },
    markNotified: (id: string) => void q.notified.run({ id, now: Date.now() }),
  }
}
