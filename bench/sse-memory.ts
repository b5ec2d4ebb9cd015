/**
 * SSE clients that never read (issue 14, item 2): N (default 300) raw TCP subscribers to
 * `GET /control/v1/events` with the read token read the response headers and then stop reading, while
 * a few readers (default 5) read everything and 1,500 turns with 2 KB inputs run through the Control API
 * against the fake OpenAI. The same turns run twice before the non-readers connect: once so the heap
 * and caches the turns themselves need are in place, once more as the control (the same measurement
 * without non-readers: what the turns alone grow the gateway by, from a level measured the same way).
 * Measures the gateway's RSS before, at its peak during the turns, after them and after the
 * non-readers are gone; then reads what each non-reader was sent and reports its last frame (the
 * target: every one ends with `event: overflow`), and checks that every reader received every event,
 * in order, with no gap. Target: RSS growth ≤ 50 MB.
 *
 *   bun bench/sse-memory.ts [--subscribers 300] [--readers 5] [--turns 1500] [--input-bytes 2048]
 *                           [--concurrency 8] [--rate <turns/s>] [--binary dist/drost] [--heap <folder>]
 *
 * `--rate 65` starts the turns at the audit's pace (its 1,500 turns took 23 s), in every phase; without
 * it they run as fast as the gateway answers (190-1,150 a second here), and what the turns themselves
 * hold while they run (the control's growth) then rises with the rate.
 * Runs the source unless given `--binary`. `--heap <folder>` preloads bench/heap-hook.ts into the
 * gateway (through BUN_OPTIONS, so the supervisor's child has it too): the gateway's own
 * `process.memoryUsage()` every 50 ms and `bun:jsc` heapStats() at its peak, per phase, in
 * `<folder>/{warmup,control,fanout}.json`.
 */
import { readdirSync, renameSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { ENTRY, spawnGateway } from "../test/lib/gateway.ts"
import { dechunk, readingSubscriber, type StalledSubscriber, stalledSubscriber } from "../test/lib/sse-socket.ts"
import { workspace } from "../test/lib/workspace.ts"
import { count, finishMachine, machine, report, rssMb } from "./lib.ts"

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "300" },
    readers: { type: "string", default: "5" },
    turns: { type: "string", default: "1500" },
    "input-bytes": { type: "string", default: "2048" },
    concurrency: { type: "string", default: "8" },
    /** Turns started per second across all sessions (default: as fast as the gateway answers). */
    rate: { type: "string" },
    binary: { type: "string" },
    /** controlApi.sseMaxBacklogBytes / sseMaxTotalBacklogBytes for the run (default: the gateway's). */
    "max-backlog": { type: "string" },
    "max-total": { type: "string" },
    /** Folder for the gateway's own memory trace (bench/heap-hook.ts preloaded into it). */
    heap: { type: "string" },
  },
})
const SUBSCRIBERS = Number(values.subscribers)
const READERS = Number(values.readers)
const TURNS = Number(values.turns)
const INPUT = Number(values["input-bytes"])
const CONCURRENCY = Number(values.concurrency)
const RATE = values.rate ? Number(values.rate) : null
const info = machine()
const READ_TOKEN = "bench-read-token-0123456789"

const fake = await fakeOpenAI({ key: null })
fake.always(reply().text("An answer in a few streamed pieces, as most are.").chunk(12))
const ws = await workspace({
  config: {
    providers: {
      profiles: [
        { id: "fake", kind: "openai-compatible", model: "gpt-test", baseUrl: fake.baseUrl, apiKeyEnv: "BENCH_KEY" },
      ],
    },
    controlApi: {
      port: 0,
      mutationsPerMinute: 100_000_000,
      readToken: READ_TOKEN,
      ...(values["max-backlog"] ? { sseMaxBacklogBytes: Number(values["max-backlog"]) } : {}),
      ...(values["max-total"] ? { sseMaxTotalBacklogBytes: Number(values["max-total"]) } : {}),
    },
  },
})
const gw = await spawnGateway(ws.path, {
  command: values.binary ? [values.binary] : [process.execPath, ENTRY],
  env: {
    BENCH_KEY: "bench-key",
    DROST_LOG_LEVEL: "warn",
    ...(values.heap
      ? { BUN_OPTIONS: `--preload ${import.meta.dir}/heap-hook.ts`, DROST_HEAP_OUT: `${values.heap}/heap` }
      : {}),
  },
})

const stalled = () => stalledSubscriber(gw.url, READ_TOKEN)

/** A reader: every `id:` it sees, to check for order and gaps. */
const reader = () => readingSubscriber(gw.url, READ_TOKEN)

const input = (n: number) => `turn ${n} `.padEnd(INPUT, "lorem ipsum dolor sit amet ")

/** `TURNS` turns across the sessions, CONCURRENCY at a time; returns the number that did not complete. */
async function runTurns(sessions: string[]): Promise<number> {
  let next = 0
  let failed = 0
  const start = performance.now()
  await Promise.all(
    sessions.map(async (id) => {
      while (next < TURNS) {
        const n = next++
        if (RATE) {
          const due = start + (n * 1000) / RATE - performance.now()
          if (due > 0) await Bun.sleep(due)
        }
        const result = (await (
          await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: input(n) } })
        ).json()) as { status: string }
        if (result.status !== "completed") failed++
        if (n % 100 === 0) fake.hits.splice(0, fake.hits.length)
      }
    }),
  )
  return failed
}

/** With --heap: the gateway's memory trace since the last dump (its peak sample in full), in `<heap>/<label>.json`. */
async function dumpHeap(label: string) {
  if (!values.heap) return
  const before = new Set(readdirSync(values.heap))
  process.kill(gw.pid, "SIGUSR2")
  for (let i = 0; i < 100; i++) {
    const file = readdirSync(values.heap).find((name) => name.includes(`.${gw.pid}.`) && !before.has(name))
    if (file) {
      await Bun.sleep(100)
      renameSync(join(values.heap, file), join(values.heap, `${label}.json`))
      return
    }
    await Bun.sleep(50)
  }
}

/** Samples the gateway's RSS every 100 ms; `stop()` answers the peak. */
function sampler() {
  let peak = rssMb(gw.pid)
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(gw.pid))
  }, 100)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, rssMb(gw.pid))
    },
  }
}

try {
  const sessions: string[] = []
  for (let i = 0; i < CONCURRENCY; i++)
    sessions.push(((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id)
  const readers = await Promise.all(Array.from({ length: READERS }, reader))
  // The same turns once without the non-readers: what the turns alone cost (heap, caches, store).
  const baseline = sampler()
  await runTurns(sessions)
  await Bun.sleep(500)
  const turnsAlonePeak = baseline.stop()
  await dumpHeap("warmup")
  // And again, measured as the non-readers' run will be: the growth the turns cause by themselves.
  const controlBefore = rssMb(gw.pid)
  const control = sampler()
  await runTurns(sessions)
  await Bun.sleep(500)
  const controlPeak = control.stop()
  await dumpHeap("control")
  const before = rssMb(gw.pid)

  const subscribers: StalledSubscriber[] = []
  for (let i = 0; i < SUBSCRIBERS; i += 50)
    subscribers.push(...(await Promise.all(Array.from({ length: Math.min(50, SUBSCRIBERS - i) }, stalled))))
  const connected = rssMb(gw.pid)

  const sampling = sampler()
  const started = performance.now()
  const failed = await runTurns(sessions)
  const seconds = (performance.now() - started) / 1000
  await Bun.sleep(500)
  const after = rssMb(gw.pid)
  const peak = sampling.stop()
  await dumpHeap("fanout")
  const openAtEnd = subscribers.filter((entry) => !entry.closed).length

  // What each non-reader was sent: read it all now, until the server closes or 2 s pass quietly.
  for (const entry of subscribers) entry.socket.resume()
  const quiet = async (entry: StalledSubscriber) => {
    let seen = -1
    while (!entry.closed && seen !== entry.received.length) {
      seen = entry.received.length
      await Bun.sleep(2_000)
    }
  }
  await Promise.all(subscribers.map(quiet))
  // Readers' last id: a non-reader that was not cut off must have every event up to it (the kernel's
  // socket buffers, up to several MB per connection on loopback, took the whole stream for it).
  const lastId = Math.max(...readers.map((entry) => entry.ids.at(-1) ?? 0))
  const lastFrames = new Map<string, number>()
  let complete = 0
  for (const entry of subscribers) {
    const blocks = dechunk(entry.received)
      .split("\n\n")
      .filter((block) => block.trim() && !block.startsWith(":"))
    const last = blocks.at(-1) ?? ""
    const kind = last.startsWith("event: overflow")
      ? "event: overflow"
      : (last.split("\n").find((line) => line.startsWith("event: ")) ?? "none")
    lastFrames.set(kind, (lastFrames.get(kind) ?? 0) + 1)
    if (kind !== "event: overflow" && last.startsWith(`id: ${lastId}\n`)) complete++
  }
  const overflowed = lastFrames.get("event: overflow") ?? 0
  for (const entry of subscribers) entry.socket.destroy()
  await Bun.sleep(1_000)
  const closedRss = rssMb(gw.pid)

  for (const entry of readers) entry.close()
  const gaps = readers.map((entry) => entry.ids.filter((id, i) => i > 0 && id !== entry.ids[i - 1]! + 1).length)
  const received = readers.map((entry) => entry.ids.length)
  const readersOk =
    gaps.every((gap) => gap === 0) &&
    readers.every((entry) => !entry.overflowed) &&
    new Set(readers.map((entry) => entry.ids.at(-1))).size === 1

  finishMachine(info)
  const growth = peak - before
  const controlGrowth = controlPeak - controlBefore
  report(
    `SSE memory · ${SUBSCRIBERS} non-reading subscribers, ${READERS} readers · ${TURNS} turns of ${INPUT} B in ${seconds.toFixed(1)} s · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    [
      ["gateway RSS, peak while the same turns ran without non-readers", `${turnsAlonePeak} MB`, ""],
      ["gateway RSS before the non-readers connect", `${before} MB`, ""],
      ["… with them connected", `${connected} MB`, ""],
      ["… peak during the turns", `${peak} MB`, ""],
      ["… right after the turns", `${after} MB`, ""],
      ["… after the non-readers are gone", `${closedRss} MB`, ""],
      ["RSS growth (peak − before)", `${growth.toFixed(1)} MB`, "target ≤ 50 MB"],
      [
        "… the control: the same turns without non-readers, measured the same way",
        `${controlGrowth.toFixed(1)} MB`,
        `${controlBefore} → ${controlPeak} MB`,
      ],
      ["… so the non-readers' share (growth − control)", `${(growth - controlGrowth).toFixed(1)} MB`, ""],
      [
        "non-readers whose last frame is event: overflow",
        `${overflowed} / ${SUBSCRIBERS}`,
        `last frames: ${[...lastFrames].map(([kind, n]) => `${kind} ×${n}`).join(", ")}`,
      ],
      [
        "… the others: received every event (kernel buffers took it all)",
        `${complete} / ${SUBSCRIBERS - overflowed}`,
        "",
      ],
      ["RSS growth beyond the same turns alone (peak − their peak)", `${(peak - turnsAlonePeak).toFixed(1)} MB`, ""],
      ["non-readers still open when the turns ended", `${openAtEnd}`, ""],
      ["turns failed", `${failed} / ${TURNS}`, ""],
      [
        "events each reader received (min / max), gaps, overflowed",
        `${count(Math.min(...received))} / ${count(Math.max(...received))}`,
        readersOk ? "in order, no gap, none cut off" : `gaps ${gaps.join(",")}; NOT unaffected`,
      ],
    ],
    {
      bench: "sse-memory",
      subscribers: SUBSCRIBERS,
      readers: READERS,
      turns: TURNS,
      input_bytes: INPUT,
      seconds: Number(seconds.toFixed(2)),
      rss_turns_alone_peak_mb: turnsAlonePeak,
      rss_before_mb: before,
      rss_connected_mb: connected,
      rss_peak_mb: peak,
      rss_after_mb: after,
      rss_closed_mb: closedRss,
      growth_mb: Number(growth.toFixed(1)),
      control_growth_mb: Number(controlGrowth.toFixed(1)),
      nonreaders_share_mb: Number((growth - controlGrowth).toFixed(1)),
      overflowed,
      complete_without_overflow: complete,
      growth_beyond_turns_alone_mb: Number((peak - turnsAlonePeak).toFixed(1)),
      last_frames: Object.fromEntries(lastFrames),
      open_at_end: openAtEnd,
      turns_failed: failed,
      reader_events_min: Math.min(...received),
      reader_mb: Number((Math.max(...readers.map((entry) => entry.bytes)) / 1048576).toFixed(1)),
      reader_gaps: gaps.reduce((a, b) => a + b, 0),
      readers_ok: readersOk,
      machine: info,
    },
  )
} finally {
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
}
