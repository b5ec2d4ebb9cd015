/**
 * Turn ownership in the store (src/store/gateways.ts, sessions.ts recoverInterrupted): two connections
 * to one database file stand for two gateways; recovery interrupts only turns whose owner is gone.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import type { Database } from "bun:sqlite"
import { mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { open } from "../../src/store/db.ts"
import { createGatewayRegistry, goneReason, HOST, processStart } from "../../src/store/gateways.ts"
import { createSessionStore } from "../../src/store/sessions.ts"

let dir = ""
const dbs: Database[] = []
beforeEach(() => {
  dir = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "gateways-"))
})
afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** One gateway: its own connection, registry row and store. */
function gateway(heartbeatMs = 2000) {
  const db = open(join(dir, "drost.db"))
  dbs.push(db)
  const registry = createGatewayRegistry(db, { heartbeatMs })
  registry.register()
  const store = createSessionStore(db, undefined, { owner: registry.id })
  return { db, registry, store }
}

function runningTurn(store: ReturnType<typeof createSessionStore>) {
  const session = store.create({ provider: "demo" })
  const { turn } = store.beginTurn({ sessionId: session.id, parts: [{ type: "text", text: "hi" }], source: "api" })
  store.startTurn(turn.id, "demo")
  return turn.id
}

/** A pid that was just in use and is not any more. */
function deadPid(): number {
  const proc = Bun.spawnSync(["true"])
  return proc.pid
}

describe("turn ownership", () => {
  test("a live peer's running and queued turns are left alone; its own stop marks only its own", () => {
    const a = gateway()
    const b = gateway()
    const running = runningTurn(a.store)
    const session = a.store.create({ provider: "demo" })
    const queued = a.store.beginTurn({ sessionId: session.id, parts: [], source: "api" }).turn.id
    const mine = runningTurn(b.store)
    const owners = a.db.query<{ id: string; owner: string }, []>("SELECT id, owner FROM turns ORDER BY id").all()
    expect(Object.fromEntries(owners.map((row) => [row.id, row.owner]))).toEqual({
      [running]: a.registry.id,
      [queued]: a.registry.id,
      [mine]: b.registry.id,
    })
    // b starts: a is registered, on this host, alive, with a fresh heartbeat.
    expect(b.store.recoverInterrupted("gone", { gone: b.registry.judge() })).toEqual([])
    // b stops: its own turn only.
    expect(b.store.recoverInterrupted("stop", { owner: b.registry.id }).map((turn) => turn.id)).toEqual([mine])
    expect(a.store.turn(running)!.status).toBe("running")
    expect(a.store.turn(queued)!.status).toBe("queued")
    b.registry.remove()
    expect(a.registry.list().map((row) => row.id)).toEqual([a.registry.id])
  })

  test("a peer whose heartbeat is stale is gone: its turns are interrupted and its row pruned", () => {
    const a = gateway(100)
    const b = gateway(100)
    const turn = runningTurn(a.store)
    const later = Date.now() + 100 * 5 + 1000
    const lost = b.store.recoverInterrupted("gone", { gone: b.registry.judge(later) })
    expect(lost.map((entry) => [entry.id, entry.status])).toEqual([[turn, "interrupted"]])
    expect(lost[0]!.why).toContain("no heartbeat")
    expect(b.store.turn(turn)!.status).toBe("interrupted")
    // b's own heartbeat is just as old at `later`, but a gateway is never gone to itself.
    expect(b.registry.prune(later)).toEqual([a.registry.id])
    // a comes back (it was only paused): its next beat registers it again.
    a.registry.beat()
    expect(
      b.registry
        .list()
        .map((row) => row.id)
        .sort(),
    ).toEqual([a.registry.id, b.registry.id].sort())
  })

  test("on this host a dead pid is gone at once, whatever its heartbeat; on another host only the heartbeat counts", () => {
    const now = Date.now()
    const row = { id: "gw_x", host: HOST, pid: deadPid(), startedAt: now - 1000, heartbeatAt: now }
    expect(goneReason("gw_x", row, { now, staleMs: 10_000 })).toContain("is not running")
    expect(goneReason("gw_x", { ...row, host: "elsewhere" }, { now, staleMs: 10_000 })).toBeNull()
    expect(goneReason("gw_x", { ...row, host: "elsewhere" }, { now: now + 20_000, staleMs: 10_000 })).toContain(
      "no heartbeat",
    )
    expect(goneReason("gw_x", null, { now, staleMs: 10_000 })).toContain("not registered")
    expect(goneReason(null, null, { now, staleMs: 10_000 })).toBe("no owner recorded")
    const live = { ...row, pid: process.pid, startedAt: now }
    expect(goneReason("gw_x", live, { now, staleMs: 10_000 })).toBeNull()
  })

  test.skipIf(processStart(process.pid) === null)("a pid now used by a process newer than the row is gone", () => {
    const now = Date.now()
    const started = processStart(process.pid)!
    // The row's gateway last beat a minute before this process (which holds the pid now) began.
    const row = { id: "gw_x", host: HOST, pid: process.pid, startedAt: started - 70_000, heartbeatAt: started - 60_000 }
    // Never stale by its heartbeat however long this process has run (a whole suite in one process ran
    // past ten minutes, and the stale reason came first): only the pid's reuse can make it gone.
    const staleMs = now - row.heartbeatAt + 60 * 60_000
    expect(goneReason("gw_x", row, { now, staleMs })).toContain("another process")
    // A gateway that registered long ago and beat since is this process, alive.
    expect(goneReason("gw_x", { ...row, heartbeatAt: now }, { now, staleMs })).toBeNull()
  })

  test("a dead gateway's row on this host is recovered by the next start; turns without an owner too", () => {
    const a = gateway()
    const turn = runningTurn(a.store)
    a.db.run("UPDATE gateways SET pid = ? WHERE id = ?", [deadPid(), a.registry.id])
    // A turn from before owners were recorded.
    const legacy = createSessionStore(a.db)
    const old = runningTurn(legacy)
    const b = gateway()
    const lost = b.store.recoverInterrupted("gone", { gone: b.registry.judge() })
    expect(lost.map((entry) => entry.id).sort()).toEqual([turn, old].sort())
    expect(lost.find((entry) => entry.id === turn)!.why).toContain("is not running")
    expect(b.registry.prune()).toEqual([a.registry.id])
  })
})
