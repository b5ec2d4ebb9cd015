/**
 * Schedules: turns that run on time (`cron`, `every`, or once `at`) in a session of their own (reused,
 * or `new` each time, or a named `session`) and deliver the answer to a channel's chat. They come from
 * the config and from the store (made by the agent's `schedule.create`, the Control API or
 * `/schedules`); both kinds are planned, claimed and run the same way.
 *
 * At most once: a run is claimed in SQLite (its due time recorded) before the turn starts, so a restart,
 * even a crash mid-run, never runs the same due time twice; a run a crash cut short is marked
 * `interrupted` at the next start. Several gateways on one database plan the same schedules and race for
 * the same claim, so each due time runs on one of them (an `every` claim also needs a whole interval
 * since the last run: gateways that started at different times do not each run it). The claim records
 * the gateway (`owner`); a run is marked interrupted only once its gateway is gone (at start and on
 * every heartbeat, `recover`), as turns are. Missed runs (the gateway was down when one was due): `missed:
 * "once"` (default) runs once at start for the latest missed time, `"skip"` waits for the next one (an
 * `at` that was missed with skip never runs). `every` counts from the last run; a config schedule that
 * never ran first fires one interval after the gateway starts, a stored one one interval after it was
 * made.
 */
import type { Database } from "bun:sqlite"
import type { Bus } from "../bus/bus.ts"
import type { Schedule } from "../core/continuity-config.ts"
import { nextRun, parseEvery } from "../core/cron.ts"
import type { SchedulesContract } from "../store/engine/contract.ts"
import type { ScheduleOrigin, ScheduleStore, StoredSchedule } from "../store/schedules.ts"
import type { RecoveryScope } from "../store/sessions.ts"
import type { Logger } from "../util/log.ts"
import { ContinuityEvent } from "./continuity-events.ts"
import type { Sessions } from "./session.ts"

export type Deliver = (channel: string, chat: string | number, text: string) => Promise<void>

export interface ScheduleState {
  id: string
  /** `config` (drost.config.ts, read-only here) or who made it at run time. */
  source: "config" | ScheduleOrigin
  /** active, paused (enabled: false) or done (an `at` that has run, or was missed with skip). */
  state: "active" | "paused" | "done"
  cron: string | null
  every: string | null
  at: string | null
  timeZone: string | null
  prompt: string
  deliver: { channel: string; chat: string | number } | null
  missed: "once" | "skip"
  next: number | null
  lastDue: number | null
  lastStarted: number | null
  lastStatus: string | null
  lastError: string | null
  sessionId: string | null
  createdAt: number | null
}

interface Row {
  id: string
  last_due: number | null
  last_started: number | null
  last_status: string | null
  last_error: string | null
  session_id: string | null
  owner: string | null
}

/** A run `recover` marked interrupted, with why its gateway is gone. */
export interface InterruptedRun {
  id: string
  due: number | null
  why: string | null
}

export interface SchedulerDeps {
  /** Planning and state read schedule_runs here (synchronously: the schedule book and /schedules do). */
  db: Database
  /**
   * The store contract's schedule runs (`gw.data.schedules.runs`): a run's claim (recording the store's
   * owner), its session and its end go through it.
   */
  runs: SchedulesContract["runs"]
  bus: Bus
  sessions: Pick<Sessions, "prompt" | "create" | "get">
  /** The config's schedules. */
  schedules: () => Schedule[]
  /** Schedules made at run time; absent: only the config's. */
  store?: ScheduleStore
  /** The owner's time zone (config `timeZone`); undefined: the system's. */
  timeZone?: () => string | undefined
  deliver: Deliver
  log: Logger
  now?: () => number
  /**
   * This gateway's id, recorded on the runs it claims, and a judge of other gateways (gateways.ts
   * `judge`). Absent: one gateway per database, every run left running is interrupted at start.
   */
  owner?: { id: string; judge: () => (owner: string | null) => string | null }
}

type Any = Schedule | StoredSchedule

const stored = (schedule: Any): schedule is StoredSchedule => "origin" in schedule

/** What the turn of a stored schedule is asked: the task, and that it is a schedule, not the user. */
function taskText(schedule: StoredSchedule): string {
  return `[Scheduled task ${schedule.id}, set up ${new Date(schedule.createdAt).toISOString()}, is due now. Do it and answer the user directly; your answer is sent to them.]\n${schedule.prompt}`
}

/** Longest single timer: re-evaluated at least this often (clock changes, long intervals). */
const MAX_WAIT_MS = 60_000

export type Scheduler = ReturnType<typeof createScheduler>

export function createScheduler(deps: SchedulerDeps) {
  const now = deps.now ?? Date.now
  const zone = () => deps.timeZone?.()
  const q = {
    get: deps.db.query<Row, { id: string }>("SELECT * FROM schedule_runs WHERE id = $id"),
    // Recovery: runs still marked running, and one of them ended if it is still its gone owner's.
    runningRuns: deps.db.query<Row, []>("SELECT * FROM schedule_runs WHERE last_status = 'running' ORDER BY id"),
    interrupted: deps.db.query(
      "UPDATE schedule_runs SET last_status = 'interrupted', last_error = 'the gateway stopped during the run' WHERE id = $id AND last_status = 'running' AND last_due IS $due AND owner IS $owner",
    ),
  }
  const started = now()
  const next = new Map<string, number | null>()
  /** A stored schedule's updatedAt when it was planned: changed since (by another gateway), it is planned again. */
  const planned = new Map<string, number>()
  const setPlan = (schedule: Any, initial: boolean) => {
    next.set(schedule.id, plan(schedule, initial))
    if (stored(schedule)) planned.set(schedule.id, schedule.updatedAt)
  }
  const running = new Set<Promise<void>>()
  const busy = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = true

  const all = (): Any[] => [...deps.schedules(), ...(deps.store?.list() ?? [])]
  const active = () => all().filter((schedule) => schedule.enabled !== false)
  const find = (id: string) => all().find((schedule) => schedule.id === id)

  /** The next due time (or, for a fresh start, what the missed-run policy says); null: not again. */
  const plan = (schedule: Any, initial: boolean): number | null => {
    const row = q.get.get({ id: schedule.id })
    const last = row?.last_due ?? null
    const owner = zone()
    const skip = (schedule.missed ?? "once") === "skip"
    try {
      if (schedule.at !== undefined) {
        const at = nextRun(schedule, Number.NEGATIVE_INFINITY, 0, owner)!
        if (last !== null && last >= at) return null // it ran
        if (at > now() || !initial) return at
        return skip ? null : at // missed while the gateway was down
      }
      const anchor = last ?? (stored(schedule) ? schedule.createdAt : started)
      if (!initial) return nextRun(schedule, now(), anchor, owner)
      if (last === null && !stored(schedule)) return nextRun(schedule, started, started, owner)
      const due = nextRun(schedule, anchor, anchor, owner)!
      if (due > now()) return due
      // Missed while the gateway was down: the latest missed due time, run now (once), or skip.
      if (skip) return nextRun(schedule, now(), anchor, owner)
      let latest = due
      for (let candidate: number | null = due; candidate !== null && candidate <= now(); ) {
        latest = candidate
        candidate = nextRun(schedule, candidate, anchor, owner)
      }
      return latest
    } catch (error) {
      deps.log.warn("schedule cannot be planned", { schedule: schedule.id, error: String(error) })
      return null
    }
  }

  const ownSession = async (schedule: Any): Promise<string> => {
    const row = await deps.runs.get(schedule.id)
    if (!schedule.new && row?.sessionId) {
      try {
        return (await deps.sessions.get(row.sessionId)).id
      } catch {
        // The schedule's session was deleted: start another one.
      }
    }
    const session = await deps.sessions.create({
      title: `schedule ${schedule.id}`,
      channel: "schedule",
      channelKey: schedule.id,
    })
    if (!schedule.new) await deps.runs.setSession(schedule.id, session.id)
    return session.id
  }

  const sessionFor = async (schedule: Any): Promise<string> => {
    if (!schedule.session) return ownSession(schedule)
    if (!stored(schedule)) return (await deps.sessions.get(schedule.session)).id
    try {
      // A reminder runs in the chat's session it was made in, so the turn sees that conversation.
      const id = (await deps.sessions.get(schedule.session)).id
      await deps.runs.setSession(schedule.id, id)
      return id
    } catch {
      return ownSession(schedule) // that session was deleted since
    }
  }

  /** How far past the last run a claim must be: a whole interval for `every`, any later time otherwise. */
  const gap = (schedule: Any): number => {
    if (schedule.every === undefined || schedule.at !== undefined || schedule.cron !== undefined) return 1
    try {
      return parseEvery(schedule.every)
    } catch {
      return 1
    }
  }

  /** Runs left `running` whose gateway `scope` says is gone (none: all of them) become interrupted. */
  const recover = (scope?: RecoveryScope): InterruptedRun[] => {
    const out: InterruptedRun[] = []
    for (const row of q.runningRuns.all()) {
      let why: string | null = null
      if (scope && "owner" in scope) {
        if (row.owner !== scope.owner) continue
      } else if (scope) {
        why = scope.gone(row.owner)
        if (why === null) continue
      }
      if (q.interrupted.run({ id: row.id, due: row.last_due, owner: row.owner }).changes === 1)
        out.push({ id: row.id, due: row.last_due, why })
    }
    return out
  }

  async function run(schedule: Any, due: number): Promise<void> {
    // Only one gateway, once, moves the last due time forward to this one (by at least the gap).
    if (!(await deps.runs.claim(schedule.id, due, now(), gap(schedule)))) return // already ran (another start, or another gateway)
    let sessionId = ""
    let status = "failed"
    let error: string | undefined
    let delivered = false
    try {
      sessionId = await sessionFor(schedule)
      const text = stored(schedule) ? taskText(schedule) : schedule.prompt
      const result = await (await deps.sessions.prompt({ sessionId, text, source: "schedule" })).done
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
    await deps.runs.finish(schedule.id, due, status, error ?? null)
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
    // tick() also runs outside the timer (start, refresh): clear the pending timer, or it would be
    // orphaned (stop() could not clear it) and fire against a closed store after the gateway stopped.
    if (timer) clearTimeout(timer)
    timer = null
    if (stopped) return
    let schedules: Any[]
    try {
      schedules = active()
    } catch (error) {
      // The store is failing (full disk, damaged, closed): try again at the next wait, never throw from a timer.
      deps.log.warn("schedules could not be read", { error: String(error) })
      timer = setTimeout(tick, MAX_WAIT_MS)
      return
    }
    for (const schedule of schedules) {
      const due = next.get(schedule.id)
      if (due === undefined || due === null || due > now() || busy.has(schedule.id)) continue
      // Changed in the store since it was planned: another gateway on the database edited it (this one's
      // own edits re-plan at once). Its old time is not run; the new one is planned.
      if (stored(schedule) && planned.has(schedule.id) && planned.get(schedule.id) !== schedule.updatedAt) {
        setPlan(schedule, q.get.get({ id: schedule.id })?.last_due == null)
        continue
      }
      next.set(schedule.id, null)
      busy.add(schedule.id)
      const job = run(schedule, due).finally(() => {
        running.delete(job)
        busy.delete(schedule.id)
        // After stop the store may already be closed: plan nothing more.
        if (stopped) return
        const current = find(schedule.id)
        if (current && current.enabled !== false) setPlan(current, false)
        else next.delete(schedule.id)
        arm()
      })
      running.add(job)
    }
    arm()
  }

  const state = (schedule: Any): ScheduleState => {
    const row = q.get.get({ id: schedule.id })
    const planned = schedule.enabled === false ? null : (next.get(schedule.id) ?? null)
    const done = schedule.at !== undefined && schedule.enabled !== false && planned === null && !busy.has(schedule.id)
    return {
      id: schedule.id,
      source: stored(schedule) ? schedule.origin : "config",
      state: schedule.enabled === false ? "paused" : done ? "done" : "active",
      cron: schedule.cron ?? null,
      every: schedule.every ?? null,
      at: schedule.at ?? null,
      timeZone: schedule.timeZone ?? null,
      prompt: schedule.prompt,
      deliver: schedule.deliver ?? null,
      missed: schedule.missed ?? "once",
      next: planned,
      lastDue: row?.last_due ?? null,
      lastStarted: row?.last_started ?? null,
      lastStatus: row?.last_status ?? null,
      lastError: row?.last_error ?? null,
      sessionId: row?.session_id ?? (stored(schedule) ? (schedule.session ?? null) : null),
      createdAt: stored(schedule) ? schedule.createdAt : null,
    }
  }

  return {
    start() {
      stopped = false
      const lost = recover(deps.owner ? { gone: deps.owner.judge() } : undefined)
      for (const run of lost)
        deps.log.warn("schedule run interrupted: its gateway is gone", { schedule: run.id, why: run.why })
      for (const schedule of active()) setPlan(schedule, true)
      tick()
    },
    /** Plan `id` again after it was made, changed or removed (the store already says how it is now). */
    refresh(id: string) {
      const schedule = find(id)
      if (!schedule || schedule.enabled === false) next.delete(id)
      // One that ran before goes on from now (a resume does not catch up on what it missed while paused).
      else if (!busy.has(id)) setPlan(schedule, q.get.get({ id })?.last_due == null)
      if (!stopped) tick()
    },
    /**
     * Runs left `running` by a gateway that is gone (`scope`, the heartbeat's sweep; none: every one)
     * become interrupted; returns them. The start does it too.
     */
    recover,
    /** Stop timers; runs in flight finish with their turns (the gateway drains them). */
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      await Promise.allSettled([...running])
    },
    get(id: string): ScheduleState | null {
      const schedule = find(id)
      return schedule ? state(schedule) : null
    },
    list(): ScheduleState[] {
      return all().map(state)
    },
  }
}
