/**
 * The bus's cluster link (src/bus/cluster.ts) against a real PostgreSQL (test/lib/postgres.ts): two or
 * three buses, each on its own store handle as each gateway has, on one database. Skipped with the
 * reason where PostgreSQL is not installed; a failure in CI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { type Bus, createBus } from "../../src/bus/bus.ts"
import { type BusLink, linkBus } from "../../src/bus/cluster.ts"
import { invalidations, SessionHistory } from "../../src/bus/invalidate.ts"
import type { Envelope } from "../../src/core/event.ts"
import { defineEvent } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { type PostgresServer, postgresSkip, startPostgres } from "../lib/postgres.ts"

const Ping = defineEvent(
  "test.cluster.ping",
  Type.Object({ node: Type.String(), n: Type.Number(), pad: Type.Optional(Type.String()) }),
)

/** Everything a subscriber of `bus` hears, and a wait for the n-th. */
function record(bus: Bus) {
  const got: Envelope[] = []
  let wake = () => {}
  bus.subscribeAll((event) => {
    got.push(event)
    wake()
  })
  const until = async (n: number, ms = 10_000) => {
    const deadline = Date.now() + ms
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`heard ${got.length} of ${n} events`)
      await new Promise<void>((done) => {
        wake = done
        setTimeout(done, 50)
      })
    }
  }
  return { got, until }
}

const ids = (events: Envelope[]) => events.map((event) => event.id)
const yieldTick = () => new Promise<void>((done) => setImmediate(done))

const skip = postgresSkip()
let server: PostgresServer
let migrated: string

if (skip) test.skip(`bus cluster link (skipped: ${skip})`, () => {})
else
  describe("bus cluster link (PostgreSQL)", () => {
    beforeAll(async () => {
      server = await startPostgres()
      const url = await server.database()
      await (await openPostgres(url, { max: 1 })).close()
      migrated = new URL(url).pathname.slice(1)
    }, 60_000)
    afterAll(async () => {
      await server?.stop()
    }, 30_000)

    /** `count` gateways' buses, each linked through its own store handle on one fresh database. */
    async function nodes(count: number) {
      const url = await server.database(migrated)
      const stores: Store[] = []
      const buses: Bus[] = []
      const links: BusLink[] = []
      for (let n = 0; n < count; n++) {
        const store = await openPostgres(url, { max: 4 })
        const bus = createBus({ startId: Date.now() * 1000 })
        stores.push(store)
        buses.push(bus)
        links.push(await linkBus(bus, store, { node: `node${n}` }))
      }
      return {
        url,
        stores,
        buses,
        links,
        async [Symbol.asyncDispose]() {
          for (const link of links) await link.close()
          for (const store of stores) await store.close()
        },
      }
    }

    test("three nodes publishing at once: every subscriber hears every event once, ids ascending, the same sequence everywhere", async () => {
      await using cluster = await nodes(3)
      const heard = cluster.buses.map(record)
      const published: Envelope[][] = cluster.buses.map(() => [])
      await Promise.all(
        cluster.buses.map(async (bus, node) => {
          for (let round = 0; round < 30; round++) {
            // A burst in one tick (one announcement), then a tick or two for the others to interleave.
            for (let i = 0; i < 1 + ((node * 7 + round) % 12); i++)
              published[node]!.push(bus.publish(Ping, { node: `node${node}`, n: published[node]!.length }))
            for (let t = 0; t <= (round + node) % 3; t++) await yieldTick()
          }
        }),
      )
      const total = published.flat().length
      await Promise.all(heard.map((h) => h.until(total)))
      const sequence = heard[0]!.got
      for (const { got } of heard) {
        expect(got.length).toBe(total)
        // Ascending with no repeats: a subscriber never sees a higher id before a lower one.
        for (let i = 1; i < got.length; i++) expect(got[i]!.id).toBeGreaterThan(got[i - 1]!.id)
        expect(got.map((event) => [event.id, event.type, event.data])).toEqual(
          sequence.map((event) => [event.id, event.type, event.data]),
        )
      }
      // Every id from the one sequence, above each link's start; each node's own events in publish order.
      for (const [node, mine] of published.entries()) {
        const own = mine.map((event) => event.id)
        expect(own.every((id) => id > cluster.links[node]!.from)).toBe(true)
        for (let i = 1; i < own.length; i++) expect(own[i]!).toBeGreaterThan(own[i - 1]!)
        expect(sequence.filter((event) => (event.data as { node: string }).node === `node${node}`)).toEqual(
          mine.map((event) => ({ ...event })),
        )
      }
      // A replay after any id, from any node, is exactly the rest of the sequence.
      for (const bus of cluster.buses) {
        expect(bus.lastId()).toBe(sequence.at(-1)!.id)
        for (const at of [0, 1, 17, Math.floor(total / 2), total - 2, total - 1])
          expect(ids(bus.since(sequence[at]!.id)!)).toEqual(ids(sequence.slice(at + 1)))
        // From before a node linked it cannot know what it missed: a gap, as for a dropped buffer.
        expect(bus.since(cluster.links[0]!.from - 1)).toBeNull()
      }
    })

    test("an SSE client reconnecting with Last-Event-ID to another node, while all three publish, gets exactly what it missed", async () => {
      await using cluster = await nodes(3)
      const everywhere = cluster.buses.map(record)
      let publishing = true
      const published: Envelope[] = []
      const publishers = cluster.buses.map(async (bus, node) => {
        let n = 0
        while (publishing) {
          for (let i = 0; i < 1 + (n % 5); i++) published.push(bus.publish(Ping, { node: `node${node}`, n: n++ }))
          await yieldTick()
        }
      })
      // The client: the replay-then-live protocol of src/api/events.ts (subscribe, replay since(last),
      // then live, dropping what is not above the last id sent), moved to the next node after every 40.
      const got: Envelope[] = []
      let last = 0
      for (let visit = 0; visit < 6; visit++) {
        const bus = cluster.buses[visit % 3]!
        let replaying = true
        const live: Envelope[] = []
        let reached = () => {}
        const target = got.length + 40
        const send = (event: Envelope) => {
          if (event.id <= last) return
          last = event.id
          got.push(event)
          if (got.length >= target) reached()
        }
        const done = new Promise<void>((resolve) => {
          reached = resolve
        })
        const stop = bus.subscribeAll((event) => (replaying ? live.push(event) : send(event)))
        if (visit > 0) {
          const missed = bus.since(last)
          expect(missed).not.toBeNull()
          for (const event of missed!) send(event)
        }
        replaying = false
        for (const event of live) send(event)
        if (got.length < target) await done
        stop()
      }
      publishing = false
      await Promise.all(publishers)
      await Promise.all(everywhere.map((node) => node.until(published.length)))
      // What the client saw is exactly every event published anywhere from its first to its last, in id
      // order: no gap, no repeat (and every node heard the same).
      const sequence = ids(published).sort((x, y) => x - y)
      const start = sequence.indexOf(got[0]!.id)
      expect(ids(got)).toEqual(sequence.slice(start, start + got.length))
      for (const node of everywhere) expect(ids(node.got)).toEqual(sequence)
      expect(got.length).toBeGreaterThanOrEqual(240)
    })

    test("an event past the notice limit (a tool's 100 KB output) reaches the other node whole and in its place", async () => {
      await using cluster = await nodes(2)
      const [a, b] = cluster.buses as [Bus, Bus]
      const heard = record(b)
      const big = "é🦀 output ".repeat(10_000) // about 110 KB of UTF-8
      a.publish(Ping, { node: "a", n: 1 })
      a.publish(Ping, { node: "a", n: 2, pad: big })
      a.publish(Ping, { node: "a", n: 3 })
      await yieldTick()
      b.publish(Ping, { node: "b", n: 4 })
      a.publish(Ping, { node: "a", n: 5, pad: big })
      await heard.until(5)
      expect(heard.got.map((event) => (event.data as { n: number }).n).sort()).toEqual([1, 2, 3, 4, 5])
      const byN = new Map(heard.got.map((event) => [(event.data as { n: number }).n, event]))
      expect(ids([1, 2, 3].map((n) => byN.get(n)!))).toEqual([...ids([1, 2, 3].map((n) => byN.get(n)!))].sort())
      expect((byN.get(2)!.data as { pad: string }).pad).toBe(big)
      expect((byN.get(5)!.data as { pad: string }).pad).toBe(big)
      for (let i = 1; i < heard.got.length; i++) expect(heard.got[i]!.id).toBeGreaterThan(heard.got[i - 1]!.id)
      // The body went through the table, not a notice.
      const admin = new SQL(cluster.url, { max: 1 })
      const [row] = await admin`SELECT count(*)::int AS n FROM event_bodies`
      await admin.close()
      expect(row.n).toBe(2)
    })

    test("linked, publish returns id 0 and numbers at delivery; closed, the bus publishes synchronously again", async () => {
      await using cluster = await nodes(2)
      const [a] = cluster.buses as [Bus, Bus]
      let during: number | null = null
      const stop = a.subscribe(Ping, (event) => {
        during ??= event.id
      })
      const event = a.publish(Ping, { node: "a", n: 1 })
      expect(event.id).toBe(0)
      expect(during).toBeNull() // not delivered inside publish
      const delivered = await a.once(Ping)
      expect(delivered).toBe(event) // the same envelope, numbered
      expect(event.id).toBeGreaterThan(cluster.links[0]!.from)
      stop()
      // One link per bus: a second would number and deliver the same envelopes again.
      await expect(linkBus(a, cluster.stores[1]!, { node: "again" })).rejects.toThrow("already linked")
      await cluster.links[0]!.close()
      let sync: number | null = null
      a.subscribe(Ping, (e) => {
        sync = e.id
      })
      const after = a.publish(Ping, { node: "a", n: 2 })
      expect(sync as number | null).toBe(after.id)
      expect(after.id).toBe(event.id + 1)
    })

    test("the listening connections killed: a replay from before the reconnection reports a gap; later events flow in order", async () => {
      await using cluster = await nodes(2)
      const [a, b] = cluster.buses as [Bus, Bus]
      const heard = record(b)
      for (let n = 0; n < 5; n++) a.publish(Ping, { node: "a", n })
      await heard.until(5)
      const before = b.lastId()
      expect(b.since(heard.got[0]!.id)).toHaveLength(4)
      const admin = new SQL(cluster.url, { max: 1 })
      const killed = await admin`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
                                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'`
      await admin.close()
      expect(killed.length).toBe(2)
      // Publish until b hears again (what went out while it was down is lost) and has marked the gap.
      const deadline = Date.now() + 10_000
      for (let n = 5; b.since(before) !== null; n++) {
        if (Date.now() > deadline) throw new Error("no gap reported after the reconnection")
        a.publish(Ping, { node: "a", n })
        await Bun.sleep(20)
      }
      // Nothing missed silently: from before the outage the replay says "gap" (the SSE route's event: gap).
      expect(b.since(heard.got[0]!.id)).toBeNull()
      const mark = b.lastId()
      const count = heard.got.length
      for (let n = 0; n < 10; n++) a.publish(Ping, { node: "a", n: 100 + n })
      await heard.until(count + 10)
      const after = heard.got.slice(count)
      expect(after.map((event) => (event.data as { n: number }).n)).toEqual(
        Array.from({ length: 10 }, (_, n) => 100 + n),
      )
      expect(ids(b.since(mark)!)).toEqual(ids(after))
      for (let i = 1; i < heard.got.length; i++) expect(heard.got[i]!.id).toBeGreaterThan(heard.got[i - 1]!.id)
    })

    test("cache invalidation: a node's drop reaches the other nodes' handlers of that kind, not its own", async () => {
      const url = await server.database(migrated)
      const stores = [await openPostgres(url, { max: 2 }), await openPostgres(url, { max: 2 })]
      const [a, b] = [await invalidations(stores[0]!, { node: "a" }), await invalidations(stores[1]!, { node: "b" })]
      try {
        const onA: (string | null)[] = []
        const onB: (string | null)[] = []
        const other: (string | null)[] = []
        let wake = () => {}
        a.on(SessionHistory, (key) => {
          onA.push(key)
          wake()
        })
        b.on(SessionHistory, (key) => {
          onB.push(key)
          wake()
        })
        b.on("other.kind", (key) => other.push(key))
        b.on(SessionHistory, () => {
          throw new Error("a handler failing on purpose")
        })
        await a.drop(SessionHistory, "ses_1")
        await b.drop(SessionHistory, "ses_2")
        while (onA.length < 1 || onB.length < 1) await new Promise<void>((done) => (wake = done))
        // a heard its own ses_1 before b's ses_2 (one notifier's order), so it was skipped, not late.
        expect(onA).toEqual(["ses_2"])
        expect(onB).toEqual(["ses_1"])
        expect(other).toEqual([])

        // The listening connection dropped and came back: what was sent meanwhile is lost, so drop all.
        const admin = new SQL(url, { max: 1 })
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`
        await admin.close()
        while (onA.length < 2 || onB.length < 2) await new Promise<void>((done) => (wake = done))
        expect(onA).toEqual(["ses_2", null])
        expect(onB).toEqual(["ses_1", null])
      } finally {
        await a.close()
        await b.close()
        for (const store of stores) await store.close()
      }
    })
  })
