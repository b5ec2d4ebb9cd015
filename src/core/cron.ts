/**
 * Times for schedules: five-field cron expressions (`minute hour day-of-month month day-of-week`, with
 * `*`, lists, ranges and steps; evaluated in the gateway's local time zone, set by TZ) and `every`
 * intervals (`30m`, `1h`, `1d`). Pure functions, so the config loader can report a bad expression with
 * its path before anything runs.
 */
import type { Schedule } from "./continuity-config.ts"
import type { Issue } from "./schema.ts"

export interface Cron {
  minute: Set<number>
  hour: Set<number>
  day: Set<number>
  month: Set<number>
  weekday: Set<number>
  /** Cron's rule: when both day fields are restricted, either may match. */
  dayOr: boolean
}

const FIELDS: [name: keyof Omit<Cron, "dayOr">, min: number, max: number][] = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day", 1, 31],
  ["month", 1, 12],
  ["weekday", 0, 7],
]

function field(text: string, name: string, min: number, max: number): Set<number> {
  const out = new Set<number>()
  for (const item of text.split(",")) {
    const match = item.match(/^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/)
    if (!match) throw new Error(`${name} "${item}" is not a number, range, list or step`)
    const range = match[1]!
    const [start, end] =
      range === "*"
        ? [min, max]
        : range.includes("-")
          ? range.split("-").map(Number)
          : [Number(range), match[2] ? max : Number(range)]
    const step = match[2] ? Number(match[2]) : 1
    if (start === undefined || end === undefined || start < min || end > max || start > end || step < 1)
      throw new Error(`${name} "${item}" is outside ${min}-${max}`)
    for (let value = start; value <= end; value += step) out.add(name === "weekday" && value === 7 ? 0 : value)
  }
  return out
}

export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/)
  if (parts.length !== 5)
    throw new Error(`"${expression}" has ${parts.length} fields; cron needs 5 (minute hour day month weekday)`)
  const sets = FIELDS.map(([name, min, max], index) => field(parts[index]!, name, min, max))
  return {
    minute: sets[0]!,
    hour: sets[1]!,
    day: sets[2]!,
    month: sets[3]!,
    weekday: sets[4]!,
    dayOr: parts[2] !== "*" && parts[4] !== "*",
  }
}

/** The first whole minute strictly after `after` that matches (searches up to four years). */
export function nextCron(cron: Cron, after: number): number {
  const time = new Date(after)
  time.setSeconds(0, 0)
  time.setMinutes(time.getMinutes() + 1)
  const limit = after + 4 * 366 * 86_400_000
  while (time.getTime() <= limit) {
    if (!cron.month.has(time.getMonth() + 1)) {
      time.setMonth(time.getMonth() + 1, 1)
      time.setHours(0, 0)
      continue
    }
    const day = cron.day.has(time.getDate())
    const weekday = cron.weekday.has(time.getDay())
    if (!(cron.dayOr ? day || weekday : day && weekday)) {
      time.setDate(time.getDate() + 1)
      time.setHours(0, 0)
      continue
    }
    if (!cron.hour.has(time.getHours())) {
      time.setHours(time.getHours() + 1, 0)
      continue
    }
    if (!cron.minute.has(time.getMinutes())) {
      time.setMinutes(time.getMinutes() + 1)
      continue
    }
    return time.getTime()
  }
  throw new Error("the cron expression never matches")
}

const UNIT: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseEvery(text: string): number {
  const match = text.match(/^(\d+)(ms|s|m|h|d)$/)
  if (!match) throw new Error(`"${text}" is not an interval like 30s, 15m, 1h or 1d`)
  const ms = Number(match[1]) * UNIT[match[2]!]!
  if (ms < 1_000) throw new Error(`"${text}" is shorter than one second`)
  return ms
}

/** When `schedule` is next due after `after`; `every` counts from `anchor` (its last run, or the start). */
export function nextRun(schedule: Pick<Schedule, "cron" | "every">, after: number, anchor = after): number {
  if (schedule.cron) return nextCron(parseCron(schedule.cron), after)
  const every = parseEvery(schedule.every!)
  const steps = Math.max(1, Math.ceil((after - anchor + 1) / every))
  return anchor + steps * every
}

/** Problems the schema cannot see: one of cron/every, valid expressions, unique ids, session vs new. */
export function scheduleIssues(list: Schedule[]): Issue[] {
  const out: Issue[] = []
  const ids = new Set<string>()
  list.forEach((schedule, index) => {
    const at = `schedules[${index}]`
    if (ids.has(schedule.id)) out.push({ path: `${at}.id`, message: `duplicate schedule id "${schedule.id}"` })
    ids.add(schedule.id)
    if (Boolean(schedule.cron) === Boolean(schedule.every))
      out.push({ path: at, message: "needs exactly one of cron or every" })
    if (schedule.session && schedule.new) out.push({ path: `${at}.new`, message: "cannot be combined with session" })
    try {
      if (schedule.cron) parseCron(schedule.cron)
    } catch (error) {
      out.push({ path: `${at}.cron`, message: (error as Error).message })
    }
    try {
      if (schedule.every) parseEvery(schedule.every)
    } catch (error) {
      out.push({ path: `${at}.every`, message: (error as Error).message })
    }
  })
  return out
}
