/**
 * Store benchmark: durable appends per second (one committed transaction per message, WAL +
 * synchronous=NORMAL, as the gateway writes them) and the time to load the last 50 messages of a
 * 100,000-message session (what a turn reads to resume a conversation).
 *
 *   bun bench/store.ts [--messages 100000] [--appends 20000]
 *
 * Prints a table and one JSON line with the figures.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { open } from "../src/store/db.ts"
import { createSessionStore } from "../src/store/sessions.ts"

const { values } = parseArgs({
  options: { messages: { type: "string", default: "100000" }, appends: { type: "string", default: "20000" } },
})
const total = Number(values.messages)
const appends = Number(values.appends)

const dir = mkdtempSync(join(tmpdir(), "drost-bench-store-"))
const db = open(join(dir, "drost.db"))
const store = createSessionStore(db)

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const message = (i: number) => ({
  type: "text" as const,
  text: `message ${i}: the quick brown fox jumps over the lazy dog, again and again, ${"x".repeat(80)}`,
})

// 1. Durable appends: each is its own IMMEDIATE transaction, exactly as a turn step is written.
const session = store.create({ provider: "demo" })
const appendStarted = performance.now()
for (let i = 0; i < appends; i++)
  store.append({ sessionId: session.id, turnId: null, role: i % 2 ? "assistant" : "user", parts: [message(i)] })
const appendSeconds = (performance.now() - appendStarted) / 1000
const appendsPerSecond = Math.round(appends / appendSeconds)

// 2. A 100,000-message session (bulk-filled), then load its last 50 messages repeatedly.
const big = store.create({ provider: "demo" })
const fill = db.transaction((from: number, to: number) => {
  for (let i = from; i < to; i++)
    store.append({ sessionId: big.id, turnId: null, role: i % 2 ? "assistant" : "user", parts: [message(i)] })
})
for (let from = 0; from < total; from += 5000) fill.immediate(from, Math.min(total, from + 5000))
// Other sessions' messages interleaved, so the index really has to seek.
for (let i = 0; i < 10; i++) store.append({ sessionId: session.id, turnId: null, role: "user", parts: [message(i)] })

const samples: number[] = []
for (let i = 0; i < 2000; i++) {
  const started = performance.now()
  const last = store.messages(big.id, { limit: 50 })
  samples.push(performance.now() - started)
  if (last.length !== 50) throw new Error(`expected 50 messages, got ${last.length}`)
}
samples.sort((a, b) => a - b)
const loadP50 = percentile(samples, 50)
const loadP99 = percentile(samples, 99)

db.close()
rmSync(dir, { recursive: true, force: true })

const rows = [
  ["durable appends/s (1 tx per message)", appendsPerSecond.toLocaleString("en-US"), "target ≥ 20,000"],
  [`load last 50 of ${total.toLocaleString("en-US")} msgs, p50`, `${loadP50.toFixed(3)} ms`, ""],
  [`load last 50 of ${total.toLocaleString("en-US")} msgs, p99`, `${loadP99.toFixed(3)} ms`, "target ≤ 2 ms"],
]
for (const [name, value, target] of rows) console.log(`${name!.padEnd(44)} ${value!.padStart(12)}  ${target}`)
console.log(
  JSON.stringify({
    bench: "store",
    appends,
    appends_per_s: appendsPerSecond,
    messages: total,
    load_last50_p50_ms: Number(loadP50.toFixed(4)),
    load_last50_p99_ms: Number(loadP99.toFixed(4)),
  }),
)
