/**
 * Schedules: turns that run on time (`cron`, `every`, or once `at`) in a session of their own (reused,
 * or `new` each time, or a named `session`) and deliver the answer to a channel's chat. They come from
 * the config and from the store (made by the agent's `schedule.create`, the Control API or
 * `/schedules`); both kinds are planned, claimed and run the same way.
 *
 * At most once: a run is claimed in the store (`schedules.runs.claim`: its due time recorded, on SQLite or
 * PostgreSQL) before the turn starts, so a restart,
 * even a crash mid-run, never runs the same due time twice; a run a crash cut short is marked
 * `interrupted` at the next start. Several gateways on one database plan the same schedules and race for
 * the same claim, so each due time runs on one of them (an `every` claim also needs a whole interval
 * since the last run: gateways that started at different times do not each run it). The claim records
 * the gateway (`owner`); a run is marked interrupted only once its gateway is gone (at start and on
 * every heartbeat, `recover`), as turns are. Missed runs (the gateway was down when one was due): `missed:
 * "once"` (default) runs once at start for the latest missed time, `"skip"` waits for the next one (an
 * `at` that was missed with skip never runs). `every` counts from the last run; a config schedule that
 * never ran first fires one interval after the gateway starts, a stored one one interval after it was
 * made. A schedule another gateway made, or changed, is planned here at the next sweep (within a minute).
 *
 * Every read goes through the store contract and is awaited: what is listed is what the store holds
 * now, also on another gateway's database. The planning steps (start, a sweep of due schedules, a
 * refresh after a change, the plan after a run) run one at a time, so no two of them interleave their
 * reads and writes of the plan; the turns themselves run beside them.
 */
import type { Bus } from "../bus/bus.ts"
import type { Schedule } from "../core/continuity-config.ts"
import { nextRun, parseEvery } from "../core/cron.ts"
import type { InterruptedRun, RecoveryScope, SchedulesContract } from "../store/engine/contract.ts"
import type { ScheduleOrigin, StoredSchedule } from "../store/schedules.ts"
import type { Logger } from "../util/log.ts"
import { ContinuityEvent } from "./continuity-events.ts"
import type { Sessions } from "./session.ts"

export type { InterruptedRun }

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

export interface SchedulerDeps {
  /**
   * The store contract's schedules (`gw.data.schedules`): those made at run time, and the record of every
   * schedule's runs (`runs`: the last due time planning starts from, the claim, the session, the end).
   */
  store: SchedulesContract
  bus: Bus
  sessions: Pick<Sessions, "prompt" | "create" | "get">
  /** The config's schedules. */
  schedules: () => Schedule[]
  /** The owner's time zone (config `timeZone`); undefined: the system's. */
  timeZone?: () => string | undefined
  deliver: Deliver
  log: Logger
  now?: () => number
  /**
   * This gateway's registry id and how long a silent peer is still alive (`staleMs`): at start only the
   * runs of gateways gone as judged for it are interrupted (the claim itself records the store's owner).
   * Absent: one gateway per database, every run left running is interrupted at start.
   */
  owner?: { id: string; staleMs: number }
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
  const started = now()
  const next = new Map<string, number | null>()
  /** A stored schedule's updatedAt when it was planned: changed since (by another gateway), it is planned again. */
  const planned = new Map<string, number>()
  const running = new Set<Promise<void>>()
  const busy = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = true
  /** Until the first sweep after start has read the store: recover, and plan with the missed-run policy. */
  let fresh = false

  /** The planning steps, one at a time (each waits for the one before; a failure does not stop the next). */
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const done = chain.then(step)
    chain = done.catch(() => {})
    return done
  }

  const all = async (): Promise<Any[]> => [...deps.schedules(), ...(await deps.store.list())]
  const active = async () => (await all()).filter((schedule) => schedule.enabled !== false)
  const find = async (id: string): Promise<Any | null> =>
    deps.schedules().find((schedule) => schedule.id === id) ?? (await deps.store.get(id))

  /**
   * The next due time after the last run (`last`): for a fresh start (`initial`) what the missed-run
   * policy says; null: not again.
   */
  const plan = (schedule: Any, initial: boolean, last: number | null): number | null => {
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

  /**
   * Plan `schedule` from its last run: `start`, with the missed-run policy; `next`, the next time from
   * now; `resume`, as at start only if it never ran (a resume does not catch up on what it missed while
   * paused).
   */
  const setPlan = async (schedule: Any, mode: "start" | "next" | "resume") => {
    const last = (await deps.store.runs.get(schedule.id))?.lastDue ?? null
    next.set(schedule.id, plan(schedule, mode === "start" || (mode === "resume" && last === null), last))
    if (stored(schedule)) planned.set(schedule.id, schedule.updatedAt)
  }

  const ownSession = async (schedule: Any): Promise<string> => {
    const row = await deps.store.runs.get(schedule.id)
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
    if (!schedule.new) await deps.store.runs.setSession(schedule.id, session.id)
    return session.id
  }

  const sessionFor = async (schedule: Any): Promise<string> => {
    if (!schedule.session) return ownSession(schedule)
    if (!stored(schedule)) return (await deps.sessions.get(schedule.session)).id
    try {
      // A reminder runs in the chat's session it was made in, so the turn sees that conversation.
      const id = (await deps.sessions.get(schedule.session)).id
      await deps.store.runs.setSession(schedule.id, id)
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

  /** Runs left `running` that `scope` picks (none: all of them) become interrupted (contract.ts RecoveryScope). */
  const recover = (scope?: RecoveryScope): Promise<InterruptedRun[]> => deps.store.runs.interruptRunning(scope)

  async function run(schedule: Any, due: number): Promise<void> {
    // Only one gateway, once, moves the last due time forward to this one (by at least the gap).
    if (!(await deps.store.runs.claim(schedule.id, due, now(), gap(schedule)))) return // already ran (another start, or another gateway)
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
    await deps.store.runs.finish(schedule.id, due, status, error ?? null)
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

  const arm = (wait?: number) => {
    if (stopped) return
    if (timer) clearTimeout(timer)
    timer = null
    const times = [...next.values()].filter((time): time is number => time !== null)
    // Nothing planned: a sweep a minute later all the same, for a schedule another gateway makes on the
    // database (without holding the process open for it).
    const idle = wait === undefined && times.length === 0
    timer = setTimeout(
      () => void tick(),
      wait ?? (idle ? MAX_WAIT_MS : Math.min(Math.max(0, Math.min(...times) - now()), MAX_WAIT_MS)),
    )
    if (idle) timer.unref?.()
  }

  /** After a run: its next time from the store as it is now (changed or removed meanwhile: as it is). */
  const after = (id: string) =>
    serial(async () => {
      if (stopped) return // after stop the store may already be closed: plan nothing more
      try {
        const current = await find(id)
        if (current && current.enabled !== false) await setPlan(current, "next")
        else next.delete(id)
      } catch (error) {
        if (stopped) return
        deps.log.warn("schedule could not be planned after its run", { schedule: id, error: String(error) })
        next.delete(id) // planned again at the next sweep
      }
      arm()
    })

  /** Start the runs that are due; plan those not planned yet (at start: all) or changed by another gateway. */
  async function sweep() {
    // A sweep also runs outside the timer (start, refresh): clear the pending timer, or it would be
    // orphaned (stop() could not clear it) and fire against a closed store after the gateway stopped.
    if (timer) clearTimeout(timer)
    timer = null
    if (stopped) return
    let schedules: Any[]
    try {
      if (fresh) {
        const lost = await recover(
          deps.owner ? { gone: { self: deps.owner.id, staleMs: deps.owner.staleMs } } : undefined,
        )
        for (const run of lost)
          deps.log.warn("schedule run interrupted: its gateway is gone", { schedule: run.id, why: run.why })
      }
      schedules = await active()
      for (const schedule of schedules) {
        if (stopped) return
        if (busy.has(schedule.id)) continue
        // Not planned yet: at start every one; later one another gateway made (or a plan a failure dropped).
        if (!next.has(schedule.id)) await setPlan(schedule, fresh ? "start" : "resume")
        // Changed in the store since it was planned: another gateway on the database edited it (this one's
        // own edits re-plan at once). Its old time is not run; the new one is planned.
        else if (stored(schedule) && planned.has(schedule.id) && planned.get(schedule.id) !== schedule.updatedAt)
          await setPlan(schedule, "resume")
      }
      fresh = false
    } catch (error) {
      if (stopped) return
      // The store is failing (full disk, damaged, closed, unreachable): try again at the next wait, never throw from a timer.
      deps.log.warn("schedules could not be read", { error: String(error) })
      return arm(MAX_WAIT_MS)
    }
    if (stopped) return
    for (const schedule of schedules) {
      const due = next.get(schedule.id)
      if (due === undefined || due === null || due > now() || busy.has(schedule.id)) continue
      next.set(schedule.id, null)
      busy.add(schedule.id)
      const job: Promise<void> = run(schedule, due)
        .catch((error) => deps.log.warn("schedule run failed", { schedule: schedule.id, error: String(error) }))
        .finally(() => {
          running.delete(job)
          busy.delete(schedule.id)
          return after(schedule.id)
        })
      running.add(job)
    }
    arm()
  }

  const tick = () => serial(sweep)

  const state = async (schedule: Any): Promise<ScheduleState> => {
    const row = await deps.store.runs.get(schedule.id)
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
      lastDue: row?.lastDue ?? null,
      lastStarted: row?.lastStarted ?? null,
      lastStatus: row?.lastStatus ?? null,
      lastError: row?.lastError ?? null,
      sessionId: row?.sessionId ?? (stored(schedule) ? (schedule.session ?? null) : null),
      createdAt: stored(schedule) ? schedule.createdAt : null,
    }
  }

  return {
    /**
     * Runs left running by gone gateways are interrupted, every schedule is planned (missed runs as
     * `missed` says) and the due ones start; resolves once that sweep is done. A store that cannot be read
     * now is tried again a minute later (logged), so this does not reject.
     */
    start(): Promise<void> {
      stopped = false
      fresh = true
      return tick()
    },
    /** Plan `id` again after it was made, changed or removed (the store already says how it is now). */
    async refresh(id: string): Promise<void> {
      await serial(async () => {
        const schedule = await find(id)
        if (!schedule || schedule.enabled === false) next.delete(id)
        else if (!busy.has(id)) await setPlan(schedule, "resume")
      })
      if (!stopped) await tick()
    },
    /**
     * Runs left `running` that `scope` picks (the gateway's sweep: those of gateways that are gone; none:
     * every one) become interrupted; returns them. The start does it too.
     */
    recover,
    /** Stop timers; runs in flight finish with their turns (the gateway drains them). */
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      await Promise.allSettled([chain, ...running])
    },
    async get(id: string): Promise<ScheduleState | null> {
      const schedule = await find(id)
      return schedule ? state(schedule) : null
    },
    async list(): Promise<ScheduleState[]> {
      return Promise.all((await all()).map(state))
    },
  }
}
