/**
 * `schedule.create`, `schedule.list`, `schedule.cancel`: reminders and recurring tasks the agent sets
 * itself ("remind me tomorrow at 9", "every weekday at 7:30"). A schedule made in a chat runs in that
 * chat's session at its time and its answer is sent back to that chat. The service (agent/schedule-book.ts)
 * is passed in, so this file only describes the tools the model sees.
 */
import { parseAt } from "../../core/cron.ts"
import { Type } from "../../core/schema.ts"
import type { RegisteredTool } from "../registry.ts"

/** What the tools show of a schedule (a subset of the scheduler's state). */
export interface ScheduleView {
  id: string
  source: string
  state: string
  cron: string | null
  every: string | null
  at: string | null
  timeZone: string | null
  prompt: string
  deliver: { channel: string; chat: string | number } | null
  next: number | null
  lastStatus: string | null
}

export interface ScheduleService {
  create(
    input: { prompt: string; at?: string; in?: string; cron?: string; every?: string; timeZone?: string },
    origin: "agent",
    from: string,
  ): Promise<ScheduleView>
  list(): Promise<ScheduleView[]>
  remove(id: string): Promise<ScheduleView>
  /** The owner's zone (config timeZone), or the system's. */
  timeZone(): string
}

/** A time as the owner reads it: "Wed, 2 Dec 2026, 09:00 (Europe/Berlin)". */
export function clock(time: number, zone: string): string {
  const text = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(new Date(time))
  return `${text.replace(/:00$/, "")} (${zone})`
}

const at = (text: string, zone: string) => {
  try {
    return clock(parseAt(text, zone), zone)
  } catch {
    return text
  }
}

export function describeSchedule(view: ScheduleView, zone: string): string {
  const when = view.cron
    ? `cron "${view.cron}"`
    : view.every
      ? `every ${view.every}`
      : `once at ${view.at ? at(view.at, view.timeZone ?? zone) : "?"}`
  const next = view.next !== null ? `next ${clock(view.next, view.timeZone ?? zone)}` : view.state
  const to = view.deliver ? `to ${view.deliver.channel} chat ${view.deliver.chat}` : "kept in its session"
  return `${view.id} [${view.source}] ${when}; ${next}; ${to}: ${view.prompt}`
}

const closed = { additionalProperties: false } as const

export function scheduleTools(service: ScheduleService): RegisteredTool[] {
  const zone = service.timeZone()
  const create: RegisteredTool = {
    name: "schedule.create",
    source: "builtin",
    description: `Set a reminder or a recurring task. At its time a turn runs in this conversation with the prompt, and your answer then is sent to this chat. Give exactly one of: at (once, a local time in the owner's time zone ${zone}), in (once, after a delay), cron (recurring) or every (recurring interval). Examples: "remind me tomorrow at 9" → at "YYYY-MM-DDT09:00" for tomorrow's date; "every weekday at 7:30" → cron "30 7 * * MON-FRI"; "in 20 minutes" → in "20m".`,
    parameters: Type.Object(
      {
        prompt: Type.String({
          minLength: 1,
          description:
            "What to do then, as an instruction to yourself, e.g. 'Remind the user to call the dentist' or 'Summarise today's calendar'",
        }),
        at: Type.Optional(
          Type.String({ description: `Once at this time: YYYY-MM-DDTHH:MM in ${zone}, or ISO 8601 with an offset` }),
        ),
        in: Type.Optional(Type.String({ description: "Once after this delay: 90s, 20m, 2h, 1d" })),
        cron: Type.Optional(
          Type.String({
            description: `Recurring, in ${zone}: minute hour day-of-month month day-of-week, e.g. "0 9 * * *" daily at 9, "30 7 * * MON-FRI", "0 18 * * FRI", or @daily`,
          }),
        ),
        every: Type.Optional(Type.String({ description: "Recurring interval: 30m, 2h, 1d" })),
        timeZone: Type.Optional(Type.String({ description: `IANA zone when not ${zone}` })),
      },
      closed,
    ),
    async execute(args, context) {
      const input = args as { prompt: string; at?: string; in?: string; cron?: string; every?: string }
      const made = await service.create(input, "agent", context.sessionId)
      return `scheduled ${describeSchedule(made, zone)}`
    },
  }
  const list: RegisteredTool = {
    name: "schedule.list",
    source: "builtin",
    description:
      "List the schedules and reminders (yours, the API's and the config's) with their next run. Done one-time reminders are left out unless all is true.",
    parameters: Type.Object(
      { all: Type.Optional(Type.Boolean({ description: "Include done and paused ones" })) },
      closed,
    ),
    async execute(args) {
      const { all } = args as { all?: boolean }
      const shown = (await service.list()).filter((view) => all || view.state === "active")
      if (shown.length === 0) return "no schedules"
      return shown.map((view) => describeSchedule(view, zone)).join("\n")
    },
  }
  const cancel: RegisteredTool = {
    name: "schedule.cancel",
    source: "builtin",
    description:
      "Cancel (delete) a schedule or reminder by its id from schedule.list. Schedules from the config file cannot be cancelled here.",
    parameters: Type.Object({ id: Type.String({ minLength: 1, description: "The schedule's id (sch_…)" }) }, closed),
    async execute(args) {
      const { id } = args as { id: string }
      const gone = await service.remove(id)
      return `cancelled ${describeSchedule(gone, zone)}`
    },
  }
  return [create, list, cancel]
}
