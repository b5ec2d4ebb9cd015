/**
 * The SQLite engine of the store contract: the synchronous stores of src/store (one SQLite code path,
 * the same figures) behind the asynchronous interface. Each call runs synchronously and returns a
 * settled Promise, so a caller that awaits sees the same order of writes as today.
 */
import type { Database } from "bun:sqlite"
import { createChannelStore } from "../channels.ts"
import { open as openDatabase } from "../db.ts"
import type { StoreHealth } from "../guard.ts"
import { createJobStore } from "../jobs.ts"
import { createScheduleStore } from "../schedules.ts"
import { createMessageSearch } from "../search.ts"
import { createSessionStore } from "../sessions.ts"
import { createSummaryStore } from "../summaries.ts"
import { createTelegramStore } from "../telegram.ts"
import { stepUsage, stepUsageSlices } from "../usage.ts"
import { NotYet, type ScheduleRun, type Store } from "./contract.ts"

/** The kv key holding the next event id of the shared sequence. */
const EVENT_KEY = "events.next"

/** `T` with every function returning a Promise, nested objects too. */
type Lifted<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : T[K] extends object
      ? Lifted<T[K]>
      : T[K]
}

/** Every function of `object` made to return a Promise (errors become rejections); nested objects too. */
function lift<T extends object>(object: T): Lifted<T> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(object)) {
    out[key] =
      typeof value === "function"
        ? (...args: unknown[]) => {
            try {
              return Promise.resolve(value.apply(object, args))
            } catch (error) {
              return Promise.reject(error)
            }
          }
        : value && typeof value === "object"
          ? lift(value)
          : value
  }
  return out as Lifted<T>
}

interface RunRow {
  id: string
  last_due: number | null
  last_started: number | null
  last_status: string | null
  last_error: string | null
  session_id: string | null
}

/** The contract over an open database (the gateway's, with its health guard), or a file opened here. */
export function sqliteStore(db: Database, options: { health?: StoreHealth; close?: boolean } = {}): Store {
  const sessions = createSessionStore(db, options.health)
  const telegram = createTelegramStore(db)
  const channels = createChannelStore(db)
  const summaries = createSummaryStore(db)
  const schedules = createScheduleStore(db)
  const jobs = createJobStore(db)
  const search = createMessageSearch(db)
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  const notYet = (what: string) => () => Promise.reject(new NotYet("sqlite", what))
  // schedule_runs: the same statements as src/agent/schedules.ts, which reads them off the database today.
  const runs = {
    get: db.query<RunRow, { id: string }>("SELECT * FROM schedule_runs WHERE id = $id"),
    ensure: db.query("INSERT INTO schedule_runs (id) VALUES ($id) ON CONFLICT(id) DO NOTHING"),
    claim: db.query(
      "UPDATE schedule_runs SET last_due = $due, last_started = $now, last_status = 'running', last_error = NULL WHERE id = $id AND (last_due IS NULL OR last_due < $due)",
    ),
    finish: db.query(
      "UPDATE schedule_runs SET last_status = $status, last_error = $error WHERE id = $id AND last_due = $due",
    ),
    interrupted: db.query(
      "UPDATE schedule_runs SET last_status = 'interrupted', last_error = 'the gateway stopped during the run' WHERE last_status = 'running'",
    ),
    setSession: db.query("UPDATE schedule_runs SET session_id = $session WHERE id = $id"),
  }
  const toRun = (row: RunRow): ScheduleRun => ({
    id: row.id,
    lastDue: row.last_due,
    lastStarted: row.last_started,
    lastStatus: row.last_status,
    lastError: row.last_error,
    sessionId: row.session_id,
  })
  const lifted = lift(sessions)

  return {
    engine: "sqlite",
    sessions: {
      ...lifted,
      kv: lift(sessions.kv),
      beginTurn: async (input) => {
        if (input.owner !== undefined) throw new NotYet("sqlite", "turn ownership (beginTurn owner)")
        const { accept, ...turn } = input
        if (!accept) return sessions.beginTurn(turn)
        return tx(() => {
          const begun = sessions.beginTurn(turn)
          if ("telegram" in accept) telegram.done(accept.telegram.botId, accept.telegram.updateIds)
          else channels.done(accept.channel.scope, accept.channel.eventIds)
          return begun
        })
      },
      startTurn: async (id, provider, owner) => {
        if (owner !== undefined) throw new NotYet("sqlite", "turn ownership (startTurn owner)")
        sessions.startTurn(id, provider)
      },
      recoverInterrupted: async (reason, recovery = {}) => {
        if (recovery.staleMs !== undefined) throw new NotYet("sqlite", "owner-aware recovery")
        return sessions.recoverInterrupted(reason)
      },
    },
    gateways: {
      register: notYet("the gateway registry (register)"),
      heartbeat: notYet("the gateway registry (heartbeat)"),
      remove: notYet("the gateway registry (remove)"),
      list: notYet("the gateway registry (list)"),
    },
    summaries: lift(summaries),
    schedules: {
      ...lift(schedules),
      runs: {
        get: async (id) => {
          const row = runs.get.get({ id })
          return row ? toRun(row) : null
        },
        claim: async (id, due, now = Date.now()) =>
          tx(() => {
            runs.ensure.run({ id })
            return runs.claim.run({ id, due, now }).changes === 1
          }),
        finish: async (id, due, status, error) => void runs.finish.run({ id, due, status, error }),
        setSession: async (id, session) => void runs.setSession.run({ id, session }),
        interruptRunning: async () => runs.interrupted.run().changes,
      },
    },
    jobs: lift(jobs),
    telegram: {
      ...lift(telegram),
      lease: async (botId, holder, ttlMs, alive = () => true) => telegram.lease(botId, holder, ttlMs, alive),
    },
    channels: lift(channels),
    search: lift(search),
    usage: {
      steps: async (filter) => stepUsage(db, filter),
      slices: async (since, sliceMs, before) => stepUsageSlices(db, since, sliceMs, before),
    },
    events: {
      reserve: async (count = 1) =>
        tx(() => {
          const first = Math.max(Number(sessions.kv.get(EVENT_KEY) ?? 0), Date.now() * 1000)
          sessions.kv.set(EVENT_KEY, String(first + count))
          return first
        }),
    },
    close: async () => {
      if (options.close) db.close()
    },
  }
}

/** Open (creating and migrating) a SQLite file as a contract store; `close()` closes it. */
export function openSqlite(path: string): Store {
  return sqliteStore(openDatabase(path), { close: true })
}
