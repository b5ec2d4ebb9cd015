/**
 * Schedules made at run time (the agent's `schedule.create`, the Control API, `/schedules`), stored
 * beside the config's: the same shape as a config schedule, kept as JSON, with where it came from and
 * when. Their runs are claimed in `schedule_runs` like the config's, so removing one removes its run
 * record too.
 */
import type { Database } from "bun:sqlite"
import type { Schedule } from "../core/continuity-config.ts"

export type ScheduleOrigin = "agent" | "api" | "command"

export interface StoredSchedule extends Schedule {
  origin: ScheduleOrigin
  createdAt: number
  updatedAt: number
}

interface Row {
  id: string
  spec: string
  origin: ScheduleOrigin
  created_at: number
  updated_at: number
}

const toSchedule = (row: Row): StoredSchedule => ({
  ...(JSON.parse(row.spec) as Schedule),
  id: row.id,
  origin: row.origin,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

/** The schedule's own fields, without the id and bookkeeping (what the spec column holds). */
function spec(schedule: Schedule): string {
  const { id: _, ...rest } = schedule as Schedule & Partial<StoredSchedule>
  delete rest.origin
  delete rest.createdAt
  delete rest.updatedAt
  return JSON.stringify(rest)
}

export type ScheduleStore = ReturnType<typeof createScheduleStore>

export function createScheduleStore(db: Database) {
  const q = {
    all: db.query<Row, []>("SELECT * FROM schedules ORDER BY created_at, id"),
    get: db.query<Row, { id: string }>("SELECT * FROM schedules WHERE id = $id"),
    count: db.query<{ n: number }, []>("SELECT count(*) AS n FROM schedules"),
    insert: db.query(
      "INSERT INTO schedules (id, spec, origin, created_at, updated_at) VALUES ($id, $spec, $origin, $now, $now)",
    ),
    update: db.query("UPDATE schedules SET spec = $spec, updated_at = $now WHERE id = $id"),
    remove: db.query("DELETE FROM schedules WHERE id = $id"),
    runs: db.query("DELETE FROM schedule_runs WHERE id = $id"),
  }
  return {
    list: (): StoredSchedule[] => q.all.all().map(toSchedule),
    get: (id: string): StoredSchedule | null => {
      const row = q.get.get({ id })
      return row ? toSchedule(row) : null
    },
    count: () => q.count.get()!.n,
    insert(schedule: Schedule, origin: ScheduleOrigin, now = Date.now()): StoredSchedule {
      q.insert.run({ id: schedule.id, spec: spec(schedule), origin, now })
      return this.get(schedule.id)!
    },
    update(schedule: Schedule, now = Date.now()): StoredSchedule {
      q.update.run({ id: schedule.id, spec: spec(schedule), now })
      return this.get(schedule.id)!
    },
    /** The schedule and its run record, in one transaction. */
    remove: db.transaction((id: string): boolean => {
      const gone = q.remove.run({ id }).changes === 1
      q.runs.run({ id })
      return gone
    }),
  }
}
