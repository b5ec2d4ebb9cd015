/**
 * The Discord connection lease (src/channels/discord/lease.ts) on a real SQLite store shared by handles
 * as gateways share it: a holder that is alive keeps it and the other waits on standby, told once who
 * holds it; a release hands it over; a holder judged gone is taken over and learns so at its next
 * renewal; a holder whose store stops answering lets go once the lease's time is up.
 */
import { afterEach, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { join } from "node:path"
import { createConnectionLease } from "../../src/channels/discord/lease.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { create as createLog } from "../../src/util/log.ts"

const KEY = "channel:discord:1100000000000000001"
const TTL = 600
const log = createLog("discord-lease-test")
const open: Store[] = []
let stopped = false
afterEach(async () => {
  stopped = true
  for (const store of open.splice(0)) await store.close().catch(() => {})
  stopped = false
})

function shared() {
  const file = join(mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "discord-lease-")), "drost.db")
  return () => {
    const store = openSqlite(file)
    open.push(store)
    return store
  }
}

function node(store: Store, owner: string) {
  const events: string[] = []
  const lease = createConnectionLease({
    leases: store.leases,
    key: KEY,
    owner,
    ttlMs: TTL,
    log,
    askMs: 50,
    pause: (ms) => Bun.sleep(ms),
    stopped: () => stopped,
    onStandby: (holder) => events.push(`standby ${holder}`),
    onLost: (why) => events.push(`lost: ${why}`),
  })
  return { lease, events }
}

async function until(what: string, probe: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}

test("a live holder keeps it past several lease times; the other waits, told once; a release hands it over", async () => {
  const handle = shared()
  const [one, two] = [handle(), handle()]
  await one.gateways.register("A")
  await two.gateways.register("B")
  const a = node(one, "A")
  const b = node(two, "B")
  // Both gateways beat as running ones do; neither is judged gone.
  const beats = setInterval(() => void Promise.all([one.gateways.beat("A"), two.gateways.beat("B")]), TTL / 6)
  expect(await a.lease.take()).toBe(true)
  let taken = false
  const waiting = b.lease.take().then((ok) => (taken = ok))
  // Three lease times: A's renewals keep it.
  await Bun.sleep(TTL * 3)
  expect(taken).toBe(false)
  expect(a.lease.holds()).toBe(true)
  expect(b.events).toEqual(["standby A"])
  expect(a.events).toEqual([])
  expect((await one.leases.holder(KEY))?.holder).toBe("A")
  await a.lease.release()
  await waiting
  expect(taken).toBe(true)
  expect(b.lease.holds()).toBe(true)
  expect((await one.leases.holder(KEY))?.holder).toBe("B")
  await b.lease.release()
  clearInterval(beats)
  expect(await one.leases.holder(KEY)).toBeNull()
})

test("a holder judged gone is taken over at once, and its next renewal tells it the lease was lost", async () => {
  const handle = shared()
  const [one, two] = [handle(), handle()]
  await one.gateways.register("A")
  await two.gateways.register("B")
  const a = node(one, "A")
  const b = node(two, "B")
  expect(await a.lease.take()).toBe(true)
  // A's row gone: the registry judges A gone (as a peer does after A's missed heartbeats).
  await one.gateways.remove("A")
  expect(await b.lease.take()).toBe(true)
  await until("A's renewal", () => a.events.length > 0, TTL * 2)
  expect(a.events).toEqual(["lost: was taken over by another gateway (this one was judged gone)"])
  expect(a.lease.holds()).toBe(false)
  expect(b.lease.holds()).toBe(true)
  await b.lease.release()
})

test("a holder whose store stops answering lets go once the lease's time is up, not before", async () => {
  const handle = shared()
  const one = handle()
  await one.gateways.register("A")
  const a = node(one, "A")
  expect(await a.lease.take()).toBe(true)
  const since = Date.now()
  await one.close()
  await until("the lease given up", () => a.events.length > 0, TTL * 3)
  expect(Date.now() - since).toBeGreaterThanOrEqual(TTL - 5)
  expect(a.events).toEqual(["lost: could not be renewed within its time"])
  expect(a.lease.holds()).toBe(false)
  await a.lease.release()
})
