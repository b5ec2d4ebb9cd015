/**
 * Times for schedules: cron expressions through `croner` (five fields `minute hour day-of-month month
 * day-of-week`, an optional leading seconds field, names such as `MON-FRI` and `JAN`, nicknames such as
 * `@daily`; cron's rule that either day field may match when both are restricted), evaluated in a time
 * zone (the schedule's, else the owner's, else the system's); `every` intervals (`30m`, `1h`, `1d`);
 * and `at`, one time. Pure functions, so the config loader and the API can report a bad expression with
 * its path before anything runs.
 */
import { Cron } from "croner"
import type { Schedule } from "./continuity-config.ts"
import type { Issue } from "./schema.ts"

export type When = Pick<Schedule, "cron" | "every" | "at" | "timeZone">

/** An IANA zone name Intl knows, or a reason. */
export function zoneProblem(zone: string): string | null {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone })
    return null
  } catch {
    return `"${zone}" is not an IANA time zone (like Europe/Berlin or America/New_York)`
  }
}

/** A cron expression in `zone` (undefined: the system's); throws a readable error when it is invalid. */
export function parseCron(expression: string, zone?: string): Cron {
  if (zone) {
    const problem = zoneProblem(zone)
    if (problem) throw new Error(problem)
  }
  try {
    return new Cron(expression.trim(), { timezone: zone, mode: "5-or-6-parts", paused: true })
  } catch (error) {
    throw new Error(
      `"${expression}": ${(error as Error).message.replace(/^CronPattern: /, "")} (minute hour day month weekday, or @daily …)`,
    )
  }
}

/** The first matching time strictly after `after`. */
export function nextCron(cron: Cron, after: number): number {
  const next = cron.nextRun(new Date(after))
  if (!next) throw new Error("the cron expression never matches")
  return next.getTime()
}

const UNIT: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseEvery(text: string): number {
  const match = text.match(/^(\d+)(ms|s|m|h|d)$/)
  if (!match) throw new Error(`"${text}" is not an interval like 30s, 15m, 1h or 1d`)
  const ms = Number(match[1]) * UNIT[match[2]!]!
  if (ms < 1_000) throw new Error(`"${text}" is shorter than one second`)
  return ms
}

/** The offset of `zone` from UTC at `instant`, in ms (positive east of Greenwich). */
function offsetAt(zone: string, instant: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant))
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value)
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"))
  return wall - Math.floor(instant / 1000) * 1000
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/

/**
 * `at` as epoch ms: an ISO time with `Z` or an offset as it says; without one, a wall-clock time in
 * `zone` (undefined: the system's), so "2026-12-02T09:00" is nine in the morning where the owner is.
 */
export function parseAt(text: string, zone?: string): number {
  const local = text.trim().match(LOCAL)
  if (local) {
    const [year, month, day, hour, minute, second] = local.slice(1).map((part) => Number(part ?? 0)) as number[]
    if (month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 59)
      throw new Error(`"${text}" is not a valid date and time`)
    if (!zone) return new Date(year!, month! - 1, day!, hour!, minute!, second!).getTime()
    const problem = zoneProblem(zone)
    if (problem) throw new Error(problem)
    const wall = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!)
    // Two passes find the instant whose local time is `wall`, across a DST change too.
    let guess = wall - offsetAt(zone, wall)
    guess = wall - offsetAt(zone, guess)
    return guess
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()))
    throw new Error(`"${text}" is not a time like 2026-12-02T09:00 (or with an offset, 2026-12-02T09:00+01:00)`)
  const time = Date.parse(text.trim())
  if (Number.isNaN(time)) throw new Error(`"${text}" is not a valid date and time`)
  return time
}

/** The zone a schedule's times are read in: its own, else the owner's (undefined: the system's). */
export const zoneOf = (schedule: When, owner?: string) => schedule.timeZone ?? owner

/**
 * When `schedule` is next due after `after`, or null when it will not run again (an `at` that passed);
 * `every` counts from `anchor` (its last run, or when it started counting).
 */
export function nextRun(schedule: When, after: number, anchor = after, owner?: string): number | null {
  const zone = zoneOf(schedule, owner)
  if (schedule.at !== undefined) {
    const at = parseAt(schedule.at, zone)
    return at > after ? at : null
  }
  if (schedule.cron) return nextCron(parseCron(schedule.cron, zone), after)
  const every = parseEvery(schedule.every!)
  const steps = Math.max(1, Math.ceil((after - anchor + 1) / every))
  return anchor + steps * every
}

/** Problems with one schedule's times: exactly one of cron/every/at, valid expressions and zone. */
export function whenIssues(schedule: When, at: string, owner?: string): Issue[] {
  const out: Issue[] = []
  const kinds = [schedule.cron, schedule.every, schedule.at].filter((value) => value !== undefined)
  if (kinds.length !== 1) out.push({ path: at, message: "needs exactly one of cron, every or at" })
  const zone = zoneOf(schedule, owner)
  if (schedule.timeZone) {
    const problem = zoneProblem(schedule.timeZone)
    if (problem) out.push({ path: `${at}.timeZone`, message: problem })
  }
  const check = (key: "cron" | "every" | "at", fn: () => unknown) => {
    try {
      if (schedule[key] !== undefined) fn()
    } catch (error) {
      out.push({ path: `${at}.${key}`, message: (error as Error).message })
    }
  }
  if (!schedule.timeZone || !zoneProblem(schedule.timeZone)) {
    check("cron", () => nextCron(parseCron(schedule.cron!, zone), Date.now()))
    check("at", () => parseAt(schedule.at!, zone))
  }
  check("every", () => parseEvery(schedule.every!))
  return out
}

/** Problems the schema cannot see: one of cron/every/at, valid expressions, unique ids, session vs new. */
export function scheduleIssues(list: Schedule[], owner?: string): Issue[] {
  const out: Issue[] = []
  const ids = new Set<string>()
  list.forEach((schedule, index) => {
    const at = `schedules[${index}]`
    if (ids.has(schedule.id)) out.push({ path: `${at}.id`, message: `duplicate schedule id "${schedule.id}"` })
    ids.add(schedule.id)
    if (schedule.session && schedule.new) out.push({ path: `${at}.new`, message: "cannot be combined with session" })
    out.push(...whenIssues(schedule, at, owner))
  })
  return out
}
