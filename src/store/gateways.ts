/**
 * The gateways running on one database, so a turn's owner can be told alive from gone. Each gateway
 * process registers a row (`gateways`: id, host, pid, started_at, heartbeat_at) when it starts,
 * refreshes `heartbeat_at` every `store.heartbeatMs` and deletes the row when it stops cleanly. Every
 * turn records the gateway that accepted it (`turns.owner`), and recovery interrupts only the open
 * turns whose owner is gone (sessions.ts `recoverInterrupted`).
 *
 * An owner is gone when: it is NULL (a turn from before owners were recorded), its row is missing (it
 * stopped, or a peer already found it dead), its heartbeat is older than the stale limit (5 ×
 * heartbeatMs: every gateway on one database must use the same heartbeatMs), or it runs on this host
 * and its pid is not alive, or that pid now belongs to a process started after the gateway's last
 * heartbeat (pid reuse; Linux only, from /proc). The pid checks are what make kill -9 → restart interrupt at
 * once instead of after the stale limit.
 */
import type { Database } from "bun:sqlite"
import { readFileSync, readlinkSync } from "node:fs"
import { hostname } from "node:os"
import { Id } from "../core/id.ts"
import { alive } from "../util/process.ts"

export interface GatewayRow {
  id: string
  host: string
  pid: number
  startedAt: number
  heartbeatAt: number
}

interface Row {
  id: string
  host: string
  pid: number
  started_at: number
  heartbeat_at: number
}

const toGateway = (row: Row): GatewayRow => ({
  id: row.id,
  host: row.host,
  pid: row.pid,
  startedAt: row.started_at,
  heartbeatAt: row.heartbeat_at,
})

/** How many missed heartbeats make a gateway stale. */
export const STALE_BEATS = 5

/**
 * Where pids mean the same thing: the machine's name plus, on Linux, the pid namespace (two containers
 * sharing a host name do not see each other's pids, so neither may judge the other by pid).
 */
export const HOST = (() => {
  try {
    return `${hostname()}/${readlinkSync("/proc/self/ns/pid")}`
  } catch {
    return hostname()
  }
})()

/** When a pid's current process started (ms since the epoch), from /proc; null where that cannot be read. */
export function processStart(pid: number): number | null {
  try {
    const boot = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Field 22 (starttime, clock ticks since boot); fields after the command name, which may hold spaces.
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19])
    if (!boot || !Number.isFinite(ticks)) return null
    return Number(boot[1]) * 1000 + ticks * 10 // USER_HZ is 100 on every Linux we run on
  } catch {
    return null
  }
}

/**
 * How much later than its row's last heartbeat a pid's process may seem to have started before the pid
 * counts as reused (btime has whole seconds). The heartbeat, not started_at, is the bound: a gateway
 * beat after any step of the wall clock, so a clock set forward after it started does not make it look
 * reused (the computed start moves with the clock; only a step since its last beat could).
 */
const START_SLACK_MS = 2000

/**
 * Why the gateway `row` (looked up for a turn's owner) is gone, or null while it may still run.
 * `now` and `staleMs` judge the heartbeat; a row on `host` is also judged by its pid.
 */
export function goneReason(
  owner: string | null,
  row: GatewayRow | null,
  options: { now: number; staleMs: number; host?: string },
): string | null {
  if (owner === null) return "no owner recorded"
  if (!row) return `gateway ${owner} is not registered`
  if (options.now - row.heartbeatAt > options.staleMs)
    return `gateway ${owner} (pid ${row.pid} on ${row.host}) sent no heartbeat for ${Math.round((options.now - row.heartbeatAt) / 1000)} s`
  if (row.host !== (options.host ?? HOST)) return null
  if (!alive(row.pid)) return `gateway ${owner} (pid ${row.pid}) is not running`
  const started = processStart(row.pid)
  if (started !== null && started > Math.max(row.startedAt, row.heartbeatAt) + START_SLACK_MS)
    return `gateway ${owner}'s pid ${row.pid} now belongs to another process`
  return null
}

/**
 * A judge of turn owners for one recovery over `db`: why an owner is gone, or null while it may run.
 * `self` (the judging gateway) is never gone to itself: a heartbeat it could not write (a full disk)
 * is not death. Each owner is looked up once per judge. Usable without a registry of one's own
 * (`recoverInterrupted(reason, { gone: ownerJudge(db, { staleMs }) })`).
 */
export function ownerJudge(
  db: Database,
  options: { staleMs: number; self?: string; now?: number },
): (owner: string | null) => string | null {
  const get = db.query<Row, { id: string }>("SELECT * FROM gateways WHERE id = $id")
  const now = options.now ?? Date.now()
  const seen = new Map<string | null, string | null>()
  return (owner) => {
    if (owner !== null && owner === options.self) return null
    if (seen.has(owner)) return seen.get(owner)!
    const row = owner === null ? null : (get.get({ id: owner }) ?? null)
    const reason = goneReason(owner, row && toGateway(row), { now, staleMs: options.staleMs })
    seen.set(owner, reason)
    return reason
  }
}

export type GatewayRegistry = ReturnType<typeof createGatewayRegistry>

/** A new gateway id: `gw_` and a sortable unique part. */
export const newGatewayId = () => `gw_${Id.create("run").slice(4)}`

/** This process's row in `gateways`; `heartbeatMs` sets the stale limit (× STALE_BEATS) it judges others by. */
export function createGatewayRegistry(db: Database, options: { heartbeatMs: number; id?: string }) {
  const id = options.id ?? newGatewayId()
  const staleMs = options.heartbeatMs * STALE_BEATS
  const startedAt = Date.now()
  const q = {
    upsert: db.query(
      `INSERT INTO gateways (id, host, pid, started_at, heartbeat_at) VALUES ($id, $host, $pid, $startedAt, $now)
       ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
    ),
    beat: db.query("UPDATE gateways SET heartbeat_at = $now WHERE id = $id"),
    all: db.query<Row, Record<string, never>>("SELECT * FROM gateways ORDER BY started_at"),
    remove: db.query("DELETE FROM gateways WHERE id = $id"),
  }
  const register = () => void q.upsert.run({ id, host: HOST, pid: process.pid, startedAt, now: Date.now() })

  return {
    id,
    staleMs,
    register,
    /**
     * Refresh the heartbeat. False when the row was gone (a peer found this gateway silent and took its
     * open turns); it is written again, so this gateway counts as alive from now on.
     */
    beat(): boolean {
      if (q.beat.run({ id, now: Date.now() }).changes > 0) return true
      register()
      return false
    },
    /** At a clean stop. */
    remove: () => void q.remove.run({ id }),
    list: (): GatewayRow[] => q.all.all({}).map(toGateway),
    /** A judge of turn owners for one recovery (`ownerJudge`), with this gateway as `self`. */
    judge: (now = Date.now()) => ownerJudge(db, { staleMs, self: id, now }),
    /** Delete the rows of gateways that are gone (after their turns were recovered); returns their ids. */
    prune(now = Date.now()): string[] {
      const judge = this.judge(now)
      const gone = q.all
        .all({})
        .map((row) => row.id)
        .filter((other) => judge(other) !== null)
      for (const other of gone) q.remove.run({ id: other })
      return gone
    },
  }
}
