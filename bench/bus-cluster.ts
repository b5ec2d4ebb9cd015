/**
 * The bus's cluster link (src/bus/cluster.ts, issue 22 item 3): what linking two gateways' buses through
 * one PostgreSQL adds per event.
 *
 *   bun bench/bus-cluster.ts [--events 2000] [--gap-ms 2] [--burst 20000]
 *
 * A real PostgreSQL (test/lib/postgres.ts, the tests' server: fsync off, on tmpfs) and two buses, each on
 * its own store handle as two gateways have, in this process (one clock). Paced: one event on node A every
 * `--gap-ms`, timed from `publish` to delivery on node B (remote) and on A itself (own: in cluster mode A
 * hears its own event when its announcement comes back). Burst: `--burst` events published on A in ticks
 * of 100, timed until B has them all (events/s), then the same split over both nodes at once. Beside it,
 * the single-node bus (not linked, as SQLite runs): publish to delivery, synchronous. Prints a table and
 * one JSON line.
 */
import { parseArgs } from "node:util"
import { createBus } from "../src/bus/bus.ts"
import { linkBus } from "../src/bus/cluster.ts"
import { defineEvent } from "../src/core/event.ts"
import { Type } from "../src/core/schema.ts"
import { openPostgres } from "../src/store/engine/postgres.ts"
import { postgresMissing, startPostgres } from "../test/lib/postgres.ts"
import { finishMachine, machine, ms, report, round, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "2000" },
    "gap-ms": { type: "string", default: "2" },
    burst: { type: "string", default: "20000" },
  },
})
const EVENTS = Number(values.events)
const GAP = Number(values["gap-ms"])
const BURST = Number(values.burst)

const Tick = defineEvent("bench.cluster.tick", Type.Object({ n: Type.Number(), at: Type.Number() }))

const missing = postgresMissing()
if (missing) {
  console.log(`bus-cluster: not run (${missing})`)
  process.exit(0)
}

const info = machine()
const server = await startPostgres()
try {
  const url = await server.database()
  const [storeA, storeB] = [await openPostgres(url, { max: 4 }), await openPostgres(url, { max: 4 })]
  const [a, b] = [createBus({ startId: Date.now() * 1000 }), createBus({ startId: Date.now() * 1000 })]
  const links = [await linkBus(a, storeA, { node: "a" }), await linkBus(b, storeB, { node: "b" })]

  // Paced: publish → delivery on B, and on A (own).
  const remote: number[] = []
  const own: number[] = []
  let expected = 0
  let allHeard = () => {}
  const stopB = b.subscribe(Tick, (event) => {
    remote.push(performance.now() - event.data.at)
    if (remote.length === expected) allHeard()
  })
  const stopA = a.subscribe(Tick, (event) => own.push(performance.now() - event.data.at))
  const run = async (count: number) => {
    expected += count
    const heard = new Promise<void>((done) => {
      allHeard = done
    })
    for (let n = 0; n < count; n++) {
      a.publish(Tick, { n, at: performance.now() })
      await Bun.sleep(GAP)
    }
    await heard
  }
  await run(200) // warm-up, left out
  remote.length = 0
  own.length = 0
  expected = 0
  await run(EVENTS)
  stopA()
  stopB()
  const remoteStats = summarize(remote)
  const ownStats = summarize(own)

  // Burst: throughput from A to B, then from both nodes at once (each hears everything).
  const burst = async (publishers: (typeof a)[]) => {
    let heard = 0
    let done = () => {}
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    const stop = b.subscribe(Tick, () => {
      if (++heard === BURST) done()
    })
    const started = performance.now()
    for (let n = 0; n < BURST; n += 100) {
      for (let i = 0; i < 100 && n + i < BURST; i++)
        publishers[(n / 100) % publishers.length]!.publish(Tick, { n: n + i, at: 0 })
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await finished
    stop()
    return BURST / ((performance.now() - started) / 1000)
  }
  const oneNode = await burst([a])
  const twoNodes = await burst([a, b])
  for (const link of links) await link.close()
  await storeA.close()
  await storeB.close()

  // The single-node bus, unlinked: publish → delivery in the same call.
  const local = createBus()
  const localSamples: number[] = []
  local.subscribe(Tick, (event) => localSamples.push(performance.now() - event.data.at))
  for (let n = 0; n < 100_000; n++) local.publish(Tick, { n, at: performance.now() })
  const localStats = summarize(localSamples.slice(10_000))

  finishMachine(info)
  report(
    `bus cluster link · publish on A → delivery, PostgreSQL LISTEN/NOTIFY on loopback · ${EVENTS} events ${GAP} ms apart · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    [
      ["A → B (remote), p50 / p99", `${ms(remoteStats.p50)} / ${ms(remoteStats.p99)}`, `max ${ms(remoteStats.max)}`],
      ["A → A (own, via its announcement), p50 / p99", `${ms(ownStats.p50)} / ${ms(ownStats.p99)}`, ""],
      ["single node, unlinked, p50 / p99", `${ms(localStats.p50)} / ${ms(localStats.p99)}`, "synchronous"],
      ["burst A → B", `${Math.round(oneNode)} events/s`, `${BURST} events, ticks of 100`],
      ["burst A + B → B", `${Math.round(twoNodes)} events/s`, ""],
    ],
    {
      bench: "bus-cluster",
      remote_p50_ms: round(remoteStats.p50),
      remote_p99_ms: round(remoteStats.p99),
      remote_max_ms: round(remoteStats.max),
      own_p50_ms: round(ownStats.p50),
      own_p99_ms: round(ownStats.p99),
      local_p50_ms: round(localStats.p50, 5),
      local_p99_ms: round(localStats.p99, 5),
      burst_one_node_per_s: Math.round(oneNode),
      burst_two_nodes_per_s: Math.round(twoNodes),
      events: EVENTS,
      gap_ms: GAP,
      burst: BURST,
      machine: info,
    },
  )
} finally {
  await server.stop()
}
