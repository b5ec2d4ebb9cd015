/**
 * The cluster link through the real SSE route: two gateways in this process (each its own workspace and
 * Control API on 127.0.0.1), each gateway's bus linked (src/bus/cluster.ts) through its own handle on one
 * real PostgreSQL. A client reads GET /control/v1/events from the first, drops, and resumes on the second
 * with Last-Event-ID while both publish. Skipped with the reason where PostgreSQL is not installed.
 */
import { expect, test } from "bun:test"
import { type BusLink, linkBus } from "../../src/bus/cluster.ts"
import { defineEvent, type Envelope } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { type InProcess, inProcess } from "../api/inprocess.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { readSse, type SseEvent } from "../lib/sse.ts"

const Tick = defineEvent("test.cluster.tick", Type.Object({ node: Type.Number(), n: Type.Number() }))
const PER_NODE = 600

async function collect(events: AsyncGenerator<SseEvent>, stop: (all: SseEvent[]) => boolean) {
  const all: SseEvent[] = []
  for (let next = await events.next(); !next.done; next = await events.next()) {
    if (next.value.event !== "test.cluster.tick") continue
    all.push(next.value)
    if (stop(all)) break
  }
  return all
}

const skip = postgresSkip()

if (skip) test.skip(`bus cluster link over SSE (skipped: ${skip})`, () => {})
else {
  const pg = postgresPerFile()

  test("a client resuming on the other gateway with Last-Event-ID gets exactly what it missed, both publishing", async () => {
    const url = await pg.server.database()
    const gateways: InProcess[] = []
    const stores: Store[] = []
    const links: BusLink[] = []
    try {
      for (let node = 0; node < 2; node++) {
        const api = await inProcess()
        gateways.push(api)
        const store = await openPostgres(url, { max: 4 })
        stores.push(store)
        links.push(await linkBus(api.gw.bus, store, { node: `gw${node}` }))
      }
      const [one, two] = gateways as [InProcess, InProcess]
      const first = new AbortController()
      const response = await one.fetch("/control/v1/events?type=test.cluster.tick", { signal: first.signal })
      expect(response.status).toBe(200)
      const published: Envelope[] = []
      const publishing = Promise.all(
        gateways.map(async (api, node) => {
          for (let n = 1; n <= PER_NODE; n++) {
            published.push(api.gw.bus.publish(Tick, { node, n }))
            if (n % 25 === 0) await new Promise<void>((done) => setImmediate(done))
          }
        }),
      )
      const seen = await collect(readSse(response), (all) => all.length === 200)
      first.abort()
      const lastId = seen.at(-1)!.id!
      const resumed = await two.fetch("/control/v1/events?type=test.cluster.tick", {
        headers: { "last-event-id": lastId },
      })
      const ends = new Set<number>()
      const rest = await collect(readSse(resumed), (all) => {
        const { data } = all.at(-1)!.data as { data: { node: number; n: number } }
        if (data.n === PER_NODE) ends.add(data.node)
        return ends.size === 2
      })
      await publishing
      // Ids from the one sequence: the client saw every event of both gateways once, ascending, across
      // the move (it connected before the first was published).
      const all = published.map((event) => event.id).sort((a, b) => a - b)
      expect(all.every((id) => id > 0)).toBe(true)
      expect([...seen, ...rest].map((event) => Number(event.id))).toEqual(all)
      expect(rest.some((event) => (event.data as { data: { node: number } }).data.node === 0)).toBe(true)
    } finally {
      for (const link of links) await link.close()
      for (const store of stores) await store.close()
      for (const api of gateways) await api[Symbol.asyncDispose]()
    }
  }, 30_000)
}
