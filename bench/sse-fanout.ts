/**
 * SSE fan-out: N (default 100) clients subscribed to `GET /control/v1/events` on the compiled gateway
 * while turns run (each publishes ~8 events: message, queued, started, request, deltas, response,
 * message, completed). Delivery latency of every event at every subscriber = the time the subscriber
 * read it − the event's `time` (stamped by the bus at publish). Target p99 ≤ 5 ms.
 *
 *   bun bench/sse-fanout.ts [--subscribers 100] [--turns 300] [--interval-ms 20] [--binary dist/drost]
 *
 * `time` is whole milliseconds (Date.now()) and the read time is sub-millisecond, so each figure is
 * an upper bound: it includes up to 1 ms of truncation (0.5 ms on average). Turns are paced
 * (`--interval-ms`) so the figure is the gateway's fan-out, not a saturated client parsing 100 streams.
 */
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { spawnGateway } from "../test/lib/gateway.ts"
import { workspace } from "../test/lib/workspace.ts"
import { ensureBinary, finishMachine, machine, ms, report, round, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "100" },
    turns: { type: "string", default: "300" },
    "interval-ms": { type: "string", default: "20" },
    binary: { type: "string" },
  },
})
const SUBSCRIBERS = Number(values.subscribers)
const TURNS = Number(values.turns)
const INTERVAL = Number(values["interval-ms"])
const info = machine()
const binary = await ensureBinary(values.binary)

const fake = await fakeOpenAI({ key: null })
fake.always(reply().text("An answer in a few streamed pieces.").chunk(12))
const ws = await workspace({
  config: {
    providers: {
      profiles: [
        { id: "fake", kind: "openai-compatible", model: "gpt-test", baseUrl: fake.baseUrl, apiKeyEnv: "BENCH_KEY" },
      ],
    },
    controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
  },
})
const gw = await spawnGateway(ws.path, { command: [binary], env: { BENCH_KEY: "bench-key", DROST_LOG_LEVEL: "warn" } })
const now = () => performance.timeOrigin + performance.now()
const samples: number[] = []
const perSubscriber = new Array<number>(SUBSCRIBERS).fill(0)
const controllers: AbortController[] = []

/** Reads one subscription; only the `"time":` field of each data line is looked at (cheap). */
async function subscribe(index: number, ready: () => void) {
  const controller = new AbortController()
  controllers.push(controller)
  const response = await gw.api("/events", { signal: controller.signal })
  ready()
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      const at = now()
      buffer += decoder.decode(value, { stream: true })
      let cut = buffer.lastIndexOf("\n\n")
      if (cut < 0) continue
      const complete = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      for (let from = complete.indexOf('"time":'); from >= 0; from = complete.indexOf('"time":', from + 7)) {
        const time = Number.parseInt(complete.slice(from + 7, from + 22), 10)
        samples.push(at - time)
        perSubscriber[index]!++
      }
      cut = 0
    }
  } catch {
    // aborted at the end
  }
}

try {
  await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, i) => new Promise<void>((ready) => void subscribe(i, ready))),
  )
  const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  // Warm-up turns, then measured ones.
  for (let i = 0; i < 20; i++) await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `warm ${i}` } })
  await Bun.sleep(200)
  samples.length = 0
  perSubscriber.fill(0)
  const started = performance.now()
  for (let i = 0; i < TURNS; i++) {
    const turnStarted = performance.now()
    const result = (await (
      await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `turn ${i}` } })
    ).json()) as { status: string }
    if (result.status !== "completed") throw new Error(JSON.stringify(result))
    if (i % 50 === 0) fake.hits.splice(0, fake.hits.length)
    const left = INTERVAL - (performance.now() - turnStarted)
    if (left > 0) await Bun.sleep(left)
  }
  await Bun.sleep(500) // the last events reach everyone
  const seconds = (performance.now() - started) / 1000
  const stats = summarize(samples)
  const events = Math.min(...perSubscriber)
  finishMachine(info)
  report(
    `SSE fan-out · ${SUBSCRIBERS} subscribers · ${TURNS} turns · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    [
      [
        "events delivered per subscriber (min over subscribers)",
        `${events}`,
        `${Math.round(events / seconds)} events/s each`,
      ],
      ["delivery latency p50", ms(stats.p50), ""],
      ["delivery latency p99", ms(stats.p99), "target ≤ 5 ms"],
      ["delivery latency max", ms(stats.max), ""],
    ],
    {
      bench: "sse-fanout",
      subscribers: SUBSCRIBERS,
      turns: TURNS,
      events_per_subscriber: events,
      p50_ms: round(stats.p50),
      p90_ms: round(stats.p90),
      p99_ms: round(stats.p99),
      max_ms: round(stats.max),
      deliveries: stats.n,
      machine: info,
    },
  )
} finally {
  for (const controller of controllers) controller.abort()
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
}
