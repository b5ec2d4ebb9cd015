/**
 * The SQLite engine of the store contract: the synchronous stores of src/store (one SQLite code path,
 * the same figures) behind the asynchronous interface. Each call runs synchronously and returns a
 * settled Promise, so a caller that awaits sees the same order of writes as today.
 */
import type { Database } from "bun:sqlite"
import { NotFound } from "../../core/error.ts"
import { type ChannelStore, createChannelStore } from "../channels.ts"
import { open as openDatabase } from "../db.ts"
import { createGatewayRegistry, ownerJudge, STALE_BEATS } from "../gateways.ts"
import type { StoreHealth } from "../guard.ts"
import { createJobStore, type JobStore } from "../jobs.ts"
import { createScheduleStore, type ScheduleStore } from "../schedules.ts"
import { createMessageSearch, type MessageSearch } from "../search.ts"
import type { RecoveryScope as RecoverySpec } from "../sessions.ts"
import { createSessionStore, type SessionStore } from "../sessions.ts"
import { createSummaryStore, type SummaryStore } from "../summaries.ts"
import { createPortable } from "../portable.ts"
import { createTelegramStore, scopeOf, type TelegramStore } from "../telegram.ts"
import { createTelegramReplies } from "../telegram-replies.ts"
import { stepUsage, stepUsageSlices } from "../usage.ts"
import { AlreadyAccepted, type InterruptedRun, type RecoveryScope, type ScheduleRun, type Store } from "./contract.ts"
import { BODY_KEEP_MS, checkBodies, listenAnnounced, pack } from "./announce.ts"
import { checkNotice, sqliteNotices } from "./notices.ts"
import { picker, taker } from "./scope.ts"

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

/**
 * Every function of `object` made to return a Promise (errors become rejections); nested objects too.
 * `before` runs first (the sessions store's waiting group commits, so writes keep the order they were asked in).
 */
function lift<T extends object>(object: T, before: () => void): Lifted<T> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(object)) {
    out[key] =
      typeof value === "function"
        ? (...args: unknown[]) => {
            try {
              before()
              return Promise.resolve(value.apply(object, args))
            } catch (error) {
              return Promise.reject(error)
            }
          }
        : value && typeof value === "object"
          ? lift(value, before)
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
  owner: string | null
}

/**
 * The synchronous stores a contract store can be built over instead of its own. The gateway passes the
 * instances it already uses, because some keep state in memory that a second instance over the same
 * database would not see: the sessions store's history cache and its turn ends held back on a full disk,
 * the summaries' newest per session, the search's background indexer. Each must be over the same `db`;
 * `sessions` and `jobs` made with the same owner as the contract's `owner`.
 */
export interface SqliteStores {
  sessions: SessionStore
  summaries: SummaryStore
  schedules: ScheduleStore
  jobs: JobStore
  telegram: TelegramStore
  channels: ChannelStore
  search: MessageSearch
}

export interface SqliteStoreOptions {
  /** The health guard of the sessions store made here (unused when `stores.sessions` is given). */
  health?: StoreHealth
  /** `close()` closes the database too. */
  close?: boolean
  /** The gateway id recorded on the turns this store begins and starts. */
  owner?: string
  /** Existing synchronous stores to use; the rest are made here. */
  stores?: Partial<SqliteStores>
}

/** The contract over an open database (the gateway's, with its health guard and stores), or a file opened here. */
export function sqliteStore(db: Database, options: SqliteStoreOptions = {}): Store {
  const given = options.stores ?? {}
  const sessions = given.sessions ?? createSessionStore(db, options.health, { owner: options.owner })
  const telegram = given.telegram ?? createTelegramStore(db)
  const channels = given.channels ?? createChannelStore(db)
  const summaries = given.summaries ?? createSummaryStore(db)
  const schedules = given.schedules ?? createScheduleStore(db)
  const owner = options.owner ?? null
  const jobs = given.jobs ?? createJobStore(db, { owner: options.owner })
  const search = given.search ?? createMessageSearch(db)
  const tx = <T>(fn: () => T): T => db.transaction(fn).immediate()
  const handled = db.query<{ done: 1 }, [string, string]>(
    "SELECT 1 AS done FROM channel_inbox WHERE scope = ? AND event_id = ? AND done_at IS NOT NULL",
  )
  // The registry of src/store/gateways.ts, one per gateway id registered here (it keeps the id's
  // started_at, which its pid is judged by); a judge for `self` is one made for the occasion.
  const registries = new Map<string, ReturnType<typeof createGatewayRegistry>>()
  const registry = (id: string) => {
    const found = registries.get(id) ?? createGatewayRegistry(db, { id, heartbeatMs: 2000 })
    registries.set(id, found)
    return found
  }
  const judging = (self: string, staleMs: number) =>
    createGatewayRegistry(db, { id: self, heartbeatMs: staleMs / STALE_BEATS })
  /** The judge of a `gone` scope, made once per recovery. */
  const judgeOf = (scope?: RecoveryScope) =>
    scope && "gone" in scope ? judging(scope.gone.self, scope.gone.staleMs).judge(scope.gone.now) : undefined
  /** The contract's scope as the synchronous stores take it. */
  const spec = (scope?: RecoveryScope): RecoverySpec | undefined =>
    !scope || "owner" in scope ? scope : { gone: judgeOf(scope)! }
  // The job store that records `id` as the owner of what it takes over (the store's own, or one per id).
  const jobStores = new Map<string | null, JobStore>([[owner, jobs]])
  const jobsOf = (id: string | null) => {
    const found = jobStores.get(id) ?? createJobStore(db, { owner: id ?? undefined })
    jobStores.set(id, found)
    return found
  }
  const runningJobs = db.query<{ id: string; owner: string | null }, []>(
    "SELECT id, owner FROM jobs WHERE status = 'running' ORDER BY created_at",
  )
  // schedule_runs: the statements of src/agent/schedules.ts (which reads them off the database today),
  // the claim recording the claiming gateway (migration 10's schedule_runs.owner).
  const runs = {
    get: db.query<RunRow, { id: string }>("SELECT * FROM schedule_runs WHERE id = $id"),
    ensure: db.query("INSERT INTO schedule_runs (id) VALUES ($id) ON CONFLICT(id) DO NOTHING"),
    claim: db.query(
      "UPDATE schedule_runs SET last_due = $due, last_started = $now, last_status = 'running', last_error = NULL, owner = $owner WHERE id = $id AND (last_due IS NULL OR last_due <= $due - $gap)",
    ),
    finish: db.query(
      "UPDATE schedule_runs SET last_status = $status, last_error = $error WHERE id = $id AND last_due = $due",
    ),
    running: db.query<RunRow, []>("SELECT * FROM schedule_runs WHERE last_status = 'running' ORDER BY id"),
    // Ended only while it is still the run that was read (the same due time and owner).
    interrupted: db.query(
      "UPDATE schedule_runs SET last_status = 'interrupted', last_error = 'the gateway stopped during the run' WHERE id = $id AND last_status = 'running' AND last_due IS $due AND owner IS $owner",
    ),
    setSession: db.query("UPDATE schedule_runs SET session_id = $session WHERE id = $id"),
  }
  // The session leases (contract.ts SessionLeasesContract): the table is a migration of db.ts.
  const lease = {
    get: db.query<{ holder: string; until: number }, { id: string }>(
      "SELECT holder, until FROM session_leases WHERE session_id = $id",
    ),
    put: db.query(
      "INSERT INTO session_leases (session_id, holder, until) VALUES ($id, $holder, $until) ON CONFLICT(session_id) DO UPDATE SET holder = excluded.holder, until = excluded.until",
    ),
    renew: db.query("UPDATE session_leases SET until = $until WHERE session_id = $id AND holder = $holder"),
    release: db.query("DELETE FROM session_leases WHERE session_id = $id AND holder = $holder"),
  }
  const toRun = (row: RunRow): ScheduleRun => ({
    id: row.id,
    lastDue: row.last_due,
    lastStarted: row.last_started,
    lastStatus: row.last_status,
    lastError: row.last_error,
    sessionId: row.session_id,
  })
  // The turn path's writes go through the sessions store's group commit (sessions.ts `group`); every
  // other call of this store first lets a waiting group commit, but for the sessions store's own
  // methods, whose writes do that themselves (and whose reads need not).
  const flush = sessions.flush
  const { grouped } = sessions
  const unordered = () => {}
  const lifted = lift(sessions, unordered)
  const notices = sqliteNotices(db)
  const reserve = (count: number) => {
    const first = Math.max(Number(sessions.kv.get(EVENT_KEY) ?? 0), Date.now() * 1000)
    sessions.kv.set(EVENT_KEY, String(first + count))
    return first
  }
  const keepBody = db.query("INSERT INTO event_bodies (id, content, created_at) VALUES (?, ?, ?)")
  const forgetBodies = db.query("DELETE FROM event_bodies WHERE created_at < ?")
  const readBody = db.query<{ content: string }, [number]>("SELECT content FROM event_bodies WHERE id = ?")
  let announcedBodies = 0

  return {
    engine: "sqlite",
    owner,
    sessions: {
      ...lifted,
      kv: lift(sessions.kv, unordered),
      beginTurn: async (input) => {
        const { accept, ...turn } = input
        if (!accept) return grouped.beginTurn(turn)
        const [scope, eventIds] =
          "telegram" in accept
            ? [scopeOf(accept.telegram.botId), accept.telegram.updateIds.map(String)]
            : [accept.channel.scope, accept.channel.eventIds]
        return grouped.run(() => {
          // Inside the group's IMMEDIATE transaction: the write lock is held from here, so of two
          // gateways the second sees the first's rows done.
          if (eventIds.some((id) => handled.get(scope, id))) throw new AlreadyAccepted(scope, eventIds)
          const begun = sessions.beginTurn(turn)
          if ("telegram" in accept) telegram.done(accept.telegram.botId, accept.telegram.updateIds)
          else channels.done(accept.channel.scope, accept.channel.eventIds)
          return begun
        })
      },
      startTurn: async (id, provider, by) =>
        by === undefined ? grouped.startTurn(id, provider) : grouped.startTurn(id, provider, by),
      append: async (input) => grouped.append(input),
      finishTurn: async (input) => (await grouped.finishTurn(input)) !== false,
      recoverInterrupted: async (reason, scope) => {
        return sessions.recoverInterrupted(reason, spec(scope))
      },
    },
    gateways: {
      register: async (id) => registry(id).register(),
      beat: async (id) => registry(id).beat(),
      remove: async (id) => {
        registry(id).remove()
        registries.delete(id)
      },
      list: async () => judging("", 1).list(),
      prune: async ({ self, staleMs, now }) => judging(self, staleMs).prune(now),
    },
    leases: {
      acquire: async (id, holder, ttlMs, gone) =>
        tx(() => {
          const now = Date.now()
          const row = lease.get.get({ id })
          if (row && row.holder !== holder && row.until > now) {
            const why = gone ? ownerJudge(db, { staleMs: gone.staleMs, self: holder, now })(row.holder) : null
            if (why === null) return { ok: false as const, holder: row.holder, until: row.until }
          }
          lease.put.run({ id, holder, until: now + ttlMs })
          return { ok: true as const }
        }),
      renew: async (id, holder, ttlMs) => lease.renew.run({ id, holder, until: Date.now() + ttlMs }).changes === 1,
      release: async (id, holder) => lease.release.run({ id, holder }).changes === 1,
      holder: async (id) => {
        const row = lease.get.get({ id })
        return row && row.until > Date.now() ? { holder: row.holder, until: row.until } : null
      },
    },
    summaries: lift(summaries, flush),
    schedules: {
      ...lift(schedules, flush),
      // The synchronous store answers an unknown id with nothing (typed as a schedule); the contract says NotFound.
      update: async (schedule, now) => {
        if (!schedules.get(schedule.id)) throw new NotFound("schedule", schedule.id)
        return schedules.update(schedule, now)
      },
      runs: {
        get: async (id) => {
          const row = runs.get.get({ id })
          return row ? toRun(row) : null
        },
        claim: async (id, due, now = Date.now(), gap = 1) =>
          tx(() => {
            runs.ensure.run({ id })
            return runs.claim.run({ id, due, now, owner, gap }).changes === 1
          }),
        finish: async (id, due, status, error) => void runs.finish.run({ id, due, status, error }),
        setSession: async (id, session) => void runs.setSession.run({ id, session }),
        interruptRunning: async (scope) => {
          const take = picker(scope, judgeOf(scope))
          const picked = runs.running.all().flatMap((row) => {
            const taken = take(row.owner)
            return taken ? [{ row, why: taken.why }] : []
          })
          if (picked.length === 0) return []
          return tx(() =>
            picked.flatMap(({ row, why }): InterruptedRun[] =>
              runs.interrupted.run({ id: row.id, due: row.last_due, owner: row.owner }).changes === 1
                ? [{ id: row.id, due: row.last_due, why }]
                : [],
            ),
          )
        },
      },
    },
    jobs: {
      ...lift(jobs, flush),
      running: async (scope) => {
        if (!scope) return jobs.running()
        const take = picker(scope, judgeOf(scope))
        return runningJobs.all().flatMap((row) => (take(row.owner) ? [jobs.get(row.id)!] : []))
      },
      recoverInterrupted: async (error, scope) => jobsOf(taker(scope, owner)).recoverInterrupted(error, spec(scope)),
      claimUnnotified: async (scope) => jobsOf(taker(scope, owner)).claimUnnotified(spec(scope)),
    },
    telegram: {
      ...lift(telegram, flush),
      lease: async (botId, holder, ttlMs, alive = () => true) => telegram.lease(botId, holder, ttlMs, alive),
      replies: lift(createTelegramReplies(db), flush),
    },
    channels: lift(channels, flush),
    search: lift(search, flush),
    usage: {
      steps: async (filter) => stepUsage(db, filter),
      slices: async (since, sliceMs, before) => stepUsageSlices(db, since, sliceMs, before),
    },
    events: {
      reserve: async (count = 1) => tx(() => reserve(count)),
      async announce(channel, bodies) {
        checkNotice(channel)
        checkBodies(bodies)
        if (bodies.length === 0) return 0
        // Reserved, stored and sent synchronously: announcements of every handle in this process are
        // heard in id order (the hub delivers in the order notify was called).
        const { first, notices: sent } = tx(() => {
          const first = reserve(bodies.length)
          const { notices, stored } = pack(first, bodies)
          const now = Date.now()
          for (const { id, body } of stored) keepBody.run(id, body, now)
          if (stored.length && ++announcedBodies % 100 === 1) forgetBodies.run(now - BODY_KEEP_MS)
          return { first, notices }
        })
        for (const payload of sent) void notices.notify(channel, payload)
        return first
      },
      body: async (id) => readBody.get(id)?.content ?? null,
      listen: (channel, onevents, onlisten) =>
        listenAnnounced(notices.listen, async (id) => readBody.get(id)?.content ?? null, channel, onevents, onlisten),
    },
    portable: lift(createPortable(db), flush),
    notices: { notify: notices.notify, listen: notices.listen },
    close: async () => {
      flush()
      notices.close()
      if (options.close) db.close()
    },
  }
}

/** Open (creating and migrating) a SQLite file as a contract store; `close()` closes it. */
export function openSqlite(path: string, options: { owner?: string } = {}): Store {
  return sqliteStore(openDatabase(path), { close: true, owner: options.owner })
}
