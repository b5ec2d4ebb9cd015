/**
 * The jobs table: background work a session started (an `agent.spawn` subagent, a `shell` with
 * `background: true`). A job is written before it starts and updated when it ends, so a restart finds
 * every job that was running (and reports it interrupted) and every ending whose notice has not reached
 * the parent session yet (`notified_at` is still null).
 *
 * Several gateways may share one database (gateways.ts): each job records the gateway that started it
 * (`owner`), and recovery takes only the jobs whose owner is gone (`RecoveryScope`, as for turns). The
 * recovering gateway becomes the owner of what it ended or claimed, so its note is written once.
 */
import type { Database } from "bun:sqlite"
import { Id } from "../core/id.ts"
import { immediate } from "./db.ts"
import type { RecoveryScope } from "./sessions.ts"

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
  owner: string | null
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

/** Which of `rows` a recovery `scope` takes, each with why its owner is gone; no scope: all of them. */
function pick(rows: Row[], scope?: RecoveryScope): { row: Row; why: string | null }[] {
  return rows.flatMap((row): { row: Row; why: string | null }[] => {
    if (!scope) return [{ row, why: null }]
    if ("owner" in scope) return row.owner === scope.owner ? [{ row, why: null }] : []
    const why = scope.gone(row.owner)
    return why === null ? [] : [{ row, why }]
  })
}

/** `owner` (the gateway's id, gateways.ts) is recorded on every job this store creates. */
export function createJobStore(db: Database, options: { owner?: string } = {}) {
  const owner = options.owner ?? null
  const q = {
    insert: db.query(
      `INSERT INTO jobs (id, kind, session_id, status, title, child_session_id, provider, output_file, created_at, deadline_at, owner)
       VALUES ($id, $kind, $sessionId, 'running', $title, $child, $provider, $output, $now, $deadline, $owner)`,
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
    // Recovery: end a job the scope took (still running, still its old owner's) and take it over.
    interrupt: db.query(
      `UPDATE jobs SET status = 'interrupted', error = $error, ended_at = $now, owner = COALESCE($self, owner)
       WHERE id = $id AND status = 'running' AND owner IS $owner`,
    ),
    // Recovery: take over a note a gone gateway did not write (one peer wins; it writes the note).
    claim: db.query(
      "UPDATE jobs SET owner = COALESCE($self, owner) WHERE id = $id AND notified_at IS NULL AND owner IS $owner",
    ),
  }
  const recover = immediate(db, (error: string, scope?: RecoveryScope) => {
    const now = Date.now()
    const out: (Job & { why: string | null })[] = []
    for (const { row, why } of pick(q.running.all(), scope)) {
      if (q.interrupt.run({ id: row.id, error, now, self: owner, owner: row.owner }).changes !== 1) continue
      out.push({ ...get(row.id)!, why })
    }
    return out
  })
  const claim = immediate(db, (rows: Row[]) =>
    rows.flatMap((row) =>
      q.claim.run({ id: row.id, self: owner, owner: row.owner }).changes === 1 ? [get(row.id)!] : [],
    ),
  )
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
        owner,
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

    /**
     * Running jobs the scope picks (no scope: all) end as `interrupted` with `error`, each with why its
     * owner is gone (`why`); this store's owner takes them over. The candidates are read without the write
     * lock first, so a sweep that finds nothing costs one read.
     */
    recoverInterrupted(error: string, scope?: RecoveryScope): (Job & { why: string | null })[] {
      if (pick(q.running.all(), scope).length === 0) return []
      return recover(error, scope)
    },

    /**
     * Endings not yet noted in their parent session whose job the scope picks (no scope: all), claimed
     * by this store's owner: of several gateways recovering at once, each note goes to one.
     */
    claimUnnotified(scope?: RecoveryScope): Job[] {
      const candidates = pick(q.unnotified.all(), scope)
      if (candidates.length === 0) return []
      return claim(candidates.map(({ row }) => row))
    },
  }
}
