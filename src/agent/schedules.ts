/**
 * Schedules: turns that run on time (`cron` or `every`) in a session of their own (reused, or `new`
 * each time, or a named `session`) and deliver the answer to a channel's chat.
 *
 * At most once: a run is claimed in SQLite (its due time recorded) before the turn starts, so a restart,
 * even a crash mid-run, never runs the same due time twice. Missed runs (the gateway was down when one
 * was due): `missed: "once"` (default) runs once at start for the latest missed time, `"skip"` waits for
 * the next one. `every` counts from the last run; a schedule that never ran first fires one interval
 * after the gateway starts.
 */
import type { Database } from "bun:sqlite"
import type { Bus } from "../bus/bus.ts"
import type { Schedule } from "../core/continuity-config.ts"
import { nextRun } from "../core/cron.ts"
import type { Logger } from "../util/log.ts"
import { ContinuityEvent } from "./continuity-events.ts"
import type { Sessions } from "./session.ts"

export type Deliver = (channel: string, chat: string | number, text: string) => Promise<void>

export interface ScheduleState {
  id: string
  next: number | null
  lastDue: number | null
  lastStarted: number | null
  lastStatus: string | null
  lastError: string | null
  sessionId: string | null
}

interface Row {
  id: string
  last_due: number | null
  last_started: number | null
  last_status: string | null
  last_error: string | null
  session_id: string | null
}

export interface SchedulerDeps {
  db: Database
  bus: Bus
  sessions: Pick<Sessions, "prompt" | "create" | "get">
  schedules: () => Schedule[]
  deliver: Deliver
  log: Logger
  now?: () => number
}

/** Longest single timer: re-evaluated at least this often (clock changes, long intervals). */
const MAX_WAIT_MS = 60_000

export type Scheduler = ReturnType<typeof createScheduler>

export function createScheduler(deps: SchedulerDeps) {
  const now = deps.now ?? Date.now
  const q = {
    get: deps.db.query<Row, { id: string }>("SELECT * FROM schedule_runs WHERE id = $id"),
    ensure: deps.db.query("INSERT INTO schedule_runs (id) VALUES ($id) ON CONFLICT(id) DO NOTHING"),
    // The claim: only one process, once, moves last_due forward to this due time.
    claim: deps.db.query(
      "UPDATE schedule_runs SET last_due = $due, last_started = $now, last_status = 'running', last_error = NULL WHERE id = $id AND (last_due IS NULL OR last_due < $due)",
    ),
    finish: deps.db.query(
      "UPDATE schedule_runs SET last_status = $status, last_error = $error WHERE id = $id AND last_due = $due",
    ),
    setSession: deps.db.query("UPDATE schedule_runs SET session_id = $session WHERE id = $id"),
  }
  const started = now()
  const next = new Map<string, number | null>()
  const running = new Set<Promise<void>>()
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = true

  const active = () => deps.schedules().filter((schedule) => schedule.enabled !== false)

  /** The next due time after `after` (or, for a fresh start, what the missed-run policy says). */
  const plan = (schedule: Schedule, initial: boolean): number | null => {
    const row = q.get.get({ id: schedule.id })
    const last = row?.last_due ?? null
    try {
      if (!initial) return nextRun(schedule, now(), last ?? started)
      if (last === null) return nextRun(schedule, started, started)
      const due = nextRun(schedule, last, last)
      if (due > now()) return due
      // Missed while the gateway was down: the latest missed due time, run now (once), or skip.
      if ((schedule.missed ?? "once") === "skip") return nextRun(schedule, now(), last)
      let latest = due
      for (let candidate = due; candidate <= now(); candidate = nextRun(schedule, candidate, last)) latest = candidate
      return latest
    } catch (error) {
      deps.log.warn("schedule cannot be planned", { schedule: schedule.id, error: String(error) })
      return null
    }
  }

  const sessionFor = (schedule: Schedule): string => {
    if (schedule.session) return deps.sessions.get(schedule.session).id
    const row = q.get.get({ id: schedule.id })
    if (!schedule.new && row?.session_id) {
      try {
        return deps.sessions.get(row.session_id).id
      } catch {
        // The schedule's session was deleted: start another one.
      }
    }
    const session = deps.sessions.create({
      title: `schedule ${schedule.id}`,
      channel: "schedule",
      channelKey: schedule.id,
    })
    if (!schedule.new) q.setSession.run({ id: schedule.id, session: session.id })
    return session.id
  }

  async function run(schedule: Schedule, due: number): Promise<void> {
    q.ensure.run({ id: schedule.id })
    if (q.claim.run({ id: schedule.id, due, now: now() }).changes !== 1) return // already ran (another start)
    let sessionId = ""
    let status = "failed"
    let error: string | undefined
    let delivered = false
    try {
      sessionId = sessionFor(schedule)
      const result = await deps.sessions.prompt({ sessionId, text: schedule.prompt, source: "schedule" }).done
      status = result.status
      if (result.status !== "completed") error = result.reason ?? result.status
      else if (schedule.deliver) {
        try {
          await deps.deliver(
            schedule.deliver.channel,
            schedule.deliver.chat,
            result.text || "(the turn produced no text)",
          )
          delivered = true
        } catch (failure) {
          status = "undelivered"
          error = `delivery to ${schedule.deliver.channel} ${schedule.deliver.chat} failed: ${failure instanceof Error ? failure.message : String(failure)}`
        }
      }
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure)
    }
    q.finish.run({ id: schedule.id, due, status, error: error ?? null })
    if (error) deps.log.warn("schedule run did not complete", { schedule: schedule.id, status, error })
    deps.bus.publish(ContinuityEvent.ScheduleRun, {
      scheduleId: schedule.id,
      sessionId,
      due,
      status,
      delivered,
      ...(error ? { error } : {}),
    })
  }

  const arm = () => {
    if (stopped) return
    if (timer) clearTimeout(timer)
    const times = [...next.values()].filter((time): time is number => time !== null)
    if (times.length === 0) return
    const wait = Math.min(Math.max(0, Math.min(...times) - now()), MAX_WAIT_MS)
    timer = setTimeout(tick, wait)
  }

  function tick() {
    timer = null
    for (const schedule of active()) {
      const due = next.get(schedule.id)
      if (due === undefined || due === null || due > now()) continue
      next.set(schedule.id, null)
      const job = run(schedule, due).finally(() => {
        running.delete(job)
        next.set(schedule.id, plan(schedule, false))
        arm()
      })
      running.add(job)
    }
    arm()
  }

  return {
    start() {
      stopped = false
      for (const schedule of active()) next.set(schedule.id, plan(schedule, true))
      tick()
    },
    /** Stop timers; runs in flight finish with their turns (the gateway drains them). */
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      await Promise.allSettled([...running])
    },
    list(): ScheduleState[] {
      return deps.schedules().map((schedule) => {
        const row = q.get.get({ id: schedule.id })
        return {
          id: schedule.id,
          next: schedule.enabled === false ? null : (next.get(schedule.id) ?? null),
          lastDue: row?.last_due ?? null,
          lastStarted: row?.last_started ?? null,
          lastStatus: row?.last_status ?? null,
          lastError: row?.last_error ?? null,
          sessionId: row?.session_id ?? null,
        }
      })
    },
  }
}
