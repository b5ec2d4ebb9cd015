/**
 * Job ownership in the store (src/store/jobs.ts): three connections to one database file stand for three
 * gateways. Jobs record the gateway that created them; recovery ends only the jobs of a gateway the
 * judge calls gone, and the recovering gateway takes over what it ended and the endings not noted yet,
 * so when two survivors recover at once each note is claimed by one of them.
 */
import { afterEach, beforeEach, expect, test } from "bun:test"
import type { Database } from "bun:sqlite"
import { mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { open } from "../../src/store/db.ts"
import { createGatewayRegistry } from "../../src/store/gateways.ts"
import { createJobStore } from "../../src/store/jobs.ts"
import { createSessionStore } from "../../src/store/sessions.ts"

let dir = ""
const dbs: Database[] = []
beforeEach(() => {
  dir = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "jobs-ownership-"))
})
afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
  rmSync(dir, { recursive: true, force: true })
})

function gateway() {
  const db = open(join(dir, "drost.db"))
  dbs.push(db)
  const registry = createGatewayRegistry(db, { heartbeatMs: 2000 })
  registry.register()
  return { db, registry, jobs: createJobStore(db, { owner: registry.id }) }
}
const ownerOf = (db: Database, id: string) =>
  db.query<{ owner: string | null }, [string]>("SELECT owner FROM jobs WHERE id = ?").get(id)?.owner

test("only a gone gateway's jobs are recovered, each by one survivor, who takes them over", () => {
  const [a, b, c] = [gateway(), gateway(), gateway()]
  const session = createSessionStore(a.db).create({ provider: "demo" })
  const running = a.jobs.create({ kind: "shell", sessionId: session.id, title: "sleep 60" })
  const ended = a.jobs.create({ kind: "shell", sessionId: session.id, title: "true" })
  a.jobs.finish(ended.id, { status: "completed", exitCode: 0 })
  const own = b.jobs.create({ kind: "shell", sessionId: session.id, title: "sleep 30" })
  expect(ownerOf(a.db, running.id)).toBe(a.registry.id)
  expect(ownerOf(a.db, own.id)).toBe(b.registry.id)

  // While a runs, nobody takes its jobs (their own judges call every registered, beating gateway alive).
  for (const peer of [b, c]) {
    expect(peer.jobs.recoverInterrupted("gone", { gone: peer.registry.judge() })).toEqual([])
    expect(peer.jobs.claimUnnotified({ gone: peer.registry.judge() })).toEqual([])
  }

  // a stops without cleaning up (its row deleted, as a peer's prune does for a dead one).
  a.registry.remove()
  const lost = b.jobs.recoverInterrupted("the gateway stopped", { gone: b.registry.judge() })
  expect(lost.map((job) => [job.id, job.status, job.error, job.why])).toEqual([
    [running.id, "interrupted", "the gateway stopped", `gateway ${a.registry.id} is not registered`],
  ])
  expect(ownerOf(a.db, running.id)).toBe(b.registry.id)
  // The other survivor finds nothing left: the job is b's now and b is alive.
  expect(c.jobs.recoverInterrupted("the gateway stopped", { gone: c.registry.judge() })).toEqual([])

  // a's ending it never noted: the first survivor to claim it writes the note, the other gets nothing.
  expect(c.jobs.claimUnnotified({ gone: c.registry.judge() }).map((job) => job.id)).toEqual([ended.id])
  expect(b.jobs.claimUnnotified({ gone: b.registry.judge() })).toEqual([])
  expect(ownerOf(a.db, ended.id)).toBe(c.registry.id)

  // A gateway's own scope: only its jobs (b's running one), never a peer's.
  expect(c.jobs.recoverInterrupted("stop", { owner: c.registry.id })).toEqual([])
  expect(b.jobs.recoverInterrupted("stop", { owner: b.registry.id }).map((job) => job.id)).toEqual([own.id])
})

test("jobs from before owners were recorded have no owner and are recovered by the first gateway to start", () => {
  const g = gateway()
  const session = createSessionStore(g.db).create({ provider: "demo" })
  const old = createJobStore(g.db).create({ kind: "agent", sessionId: session.id, title: "an old task" })
  expect(ownerOf(g.db, old.id)).toBeNull()
  const lost = g.jobs.recoverInterrupted("the gateway stopped", { gone: g.registry.judge() })
  expect(lost.map((job) => [job.id, job.why])).toEqual([[old.id, "no owner recorded"]])
  expect(ownerOf(g.db, old.id)).toBe(g.registry.id)
  // No scope: every running job, as with one gateway per database.
  const other = createJobStore(g.db).create({ kind: "agent", sessionId: session.id, title: "another" })
  expect(
    createJobStore(g.db)
      .recoverInterrupted("x")
      .map((job) => job.id),
  ).toEqual([other.id])
})
