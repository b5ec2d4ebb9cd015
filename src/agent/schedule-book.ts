/**
 * Making, changing and removing schedules at run time: what `schedule.create | list | cancel`, the
 * Control API (`/control/v1/schedules`) and `/schedules` share. Input is checked here (one time kind,
 * valid expressions and zone, a known session), a relative `in` becomes an absolute `at`, and a
 * schedule made in a chat runs in that chat's session and is delivered back to it. The config's
 * schedules are listed too but change only in the config file. Every call reads and writes through the
 * store contract (`gw.data.schedules`) and is awaited.
 */
import type { Schedule } from "../core/continuity-config.ts"
import { parseAt, parseEvery, whenIssues, zoneOf } from "../core/cron.ts"
import { DrostError, Invalid, NotFound } from "../core/error.ts"
import { Id } from "../core/id.ts"
import type { Issue } from "../core/schema.ts"
import type { SchedulesContract } from "../store/engine/contract.ts"
import type { ScheduleOrigin } from "../store/schedules.ts"
import type { Session } from "../store/sessions.ts"
import type { Scheduler, ScheduleState } from "./schedules.ts"

export type Target = { channel: string; chat: string | number }

/** What a caller may set; exactly one of at, in, cron, every. */
export interface ScheduleInput {
  prompt?: string
  at?: string
  /** From now: 90s, 10m, 2h, 1d. */
  in?: string
  cron?: string
  every?: string
  timeZone?: string
  /** Run in this session (default: the session it was made in, else one of its own). */
  session?: string
  /** Where the answer goes; null: nowhere (default: the chat of its session, when a channel can reach it). */
  deliver?: Target | null
  missed?: "once" | "skip"
  enabled?: boolean
}

export interface ScheduleBookDeps {
  /** The stored schedules (`gw.data.schedules`; their runs are the scheduler's). */
  store: Omit<SchedulesContract, "runs">
  scheduler: Scheduler
  config: () => Schedule[]
  /** A stored session (`gw.data.sessions.require`): rejects for an unknown id. */
  session: (id: string) => Promise<Session>
  /** The chat a session belongs to, if a channel can deliver there (deliveries.locate). */
  locate: (session: Session) => Target | null
  /** Channels that can deliver (to check an explicit target). */
  channels: () => string[]
  timeZone: () => string | undefined
  /** Most stored schedules (a runaway loop of schedule.create stops here). */
  limit?: number
  now?: () => number
}

export type ScheduleBook = ReturnType<typeof createScheduleBook>

const WHEN = ["at", "in", "cron", "every"] as const

export function createScheduleBook(deps: ScheduleBookDeps) {
  const now = deps.now ?? Date.now
  const limit = deps.limit ?? 200

  const fail = (issues: Issue[]) => {
    if (issues.length)
      throw new Invalid(issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "), { fields: issues })
  }

  /** The stored fields of `input` over `base` (an update keeps what it does not mention). */
  async function build(id: string, input: ScheduleInput, base?: Schedule, origin?: Session | null): Promise<Schedule> {
    const issues: Issue[] = []
    const given = WHEN.filter((key) => input[key] !== undefined)
    if (given.length > 1)
      issues.push({ path: "body", message: `give one of at, in, cron or every, not ${given.join(" and ")}` })
    const when: Pick<Schedule, "at" | "cron" | "every"> = given.length
      ? {}
      : { at: base?.at, cron: base?.cron, every: base?.every }
    if (input.in !== undefined) {
      try {
        when.at = new Date(now() + parseEvery(input.in)).toISOString()
      } catch (error) {
        issues.push({ path: "in", message: (error as Error).message })
      }
    } else if (given[0]) when[given[0] as "at" | "cron" | "every"] = input[given[0]] as string
    const schedule: Schedule = {
      ...(base ?? {}),
      id,
      prompt: (input.prompt ?? base?.prompt ?? "").trim(),
      at: when.at,
      cron: when.cron,
      every: when.every,
      timeZone: input.timeZone ?? base?.timeZone,
      missed: input.missed ?? base?.missed,
      enabled: input.enabled ?? base?.enabled,
    }
    if (!schedule.prompt) issues.push({ path: "prompt", message: "says what the turn should do; it is empty" })
    if (input.session !== undefined) {
      try {
        origin = await deps.session(input.session)
        schedule.session = origin.id
      } catch {
        issues.push({ path: "session", message: `unknown session "${input.session}"` })
      }
    } else if (!base && origin) schedule.session = origin.id
    if (input.deliver === null) delete schedule.deliver
    else if (input.deliver) {
      if (!deps.channels().includes(input.deliver.channel))
        issues.push({
          path: "deliver.channel",
          message: `no channel "${input.deliver.channel}" can deliver (configured: ${deps.channels().join(", ") || "none"})`,
        })
      schedule.deliver = input.deliver
    } else if (!base && origin) {
      const target = deps.locate(origin)
      if (target) schedule.deliver = target
    }
    if (!issues.some((issue) => issue.path === "in")) {
      const found = whenIssues(schedule, "when", deps.timeZone()).map(rename)
      issues.push(...found)
      if (input.at !== undefined && found.length === 0 && parseAt(input.at, zoneOf(schedule, deps.timeZone())) <= now())
        issues.push({ path: "at", message: `${input.at} has passed; give a time in the future` })
    }
    for (const key of Object.keys(schedule) as (keyof Schedule)[]) if (schedule[key] === undefined) delete schedule[key]
    fail(issues)
    return schedule
  }

  /** The model may not make a turn repeat more often than once a minute (a runaway loop's cost). */
  const pace = (schedule: Schedule): Issue[] => {
    if (schedule.every !== undefined && parseEvery(schedule.every) < 60_000)
      return [{ path: "every", message: "repeats more often than once a minute; use 1m or more" }]
    if (schedule.cron !== undefined && schedule.cron.trim().split(/\s+/).length > 5)
      return [{ path: "cron", message: "has a seconds field; schedules the agent makes repeat at most once a minute" }]
    return []
  }

  /** whenIssues speaks of `when.cron`; the caller sent `cron`. */
  const rename = (issue: Issue): Issue => ({
    path: issue.path === "when" ? "body" : issue.path.replace(/^when\./, ""),
    message: issue.message,
  })

  const editable = async (id: string) => {
    const found = await deps.store.get(id)
    if (found) return found
    if (deps.config().some((schedule) => schedule.id === id))
      throw new DrostError("Conflict", `schedule "${id}" is defined in the config file; change it there`, { id })
    throw new NotFound("schedule", id)
  }

  const state = async (id: string): Promise<ScheduleState> => (await deps.scheduler.get(id))!

  return {
    list: (): Promise<ScheduleState[]> => deps.scheduler.list(),
    async get(id: string): Promise<ScheduleState> {
      const found = await deps.scheduler.get(id)
      if (!found) throw new NotFound("schedule", id)
      return found
    },
    /** `from`: the session it is made in (the agent's, a chat's), which it then runs in and answers to. */
    async create(input: ScheduleInput, origin: ScheduleOrigin, from?: string): Promise<ScheduleState> {
      // A cap against a runaway loop, not an exact count: creates in flight at once may pass it together.
      if ((await deps.store.count()) >= limit)
        throw new DrostError("Conflict", `there are already ${limit} schedules; cancel some first`, { limit })
      let session: Session | null = null
      if (from)
        try {
          session = await deps.session(from)
        } catch {
          session = null
        }
      const schedule = await build(Id.create("sch", now()), input, undefined, session)
      if (origin === "agent") fail(pace(schedule))
      await deps.store.insert(schedule, origin, now())
      await deps.scheduler.refresh(schedule.id)
      return state(schedule.id)
    },
    async update(id: string, input: ScheduleInput): Promise<ScheduleState> {
      const current = await editable(id)
      const { origin: _, createdAt: __, updatedAt: ___, ...base } = current
      await deps.store.update(await build(id, input, base), now())
      await deps.scheduler.refresh(id)
      return state(id)
    },
    async remove(id: string): Promise<ScheduleState> {
      await editable(id)
      const last = await state(id)
      await deps.store.remove(id)
      await deps.scheduler.refresh(id)
      return { ...last, next: null }
    },
  }
}
