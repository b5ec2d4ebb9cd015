/**
 * Soak: the compiled gateway under a steady rate of turns (default 50 turns/s for 60 minutes) against
 * the fake OpenAI provider, spread over a pool of sessions that rotate (each gets a fresh successor
 * after 20 turns, as conversations end). RSS and open file descriptors of the gateway are sampled every
 * 10 s. Targets: RSS growth under 10 % and no growth of file descriptors other than sockets (files,
 * pipes, watchers), both measured from the end of the warm-up (the first 10 % of the run) to the end,
 * each as the median of a minute of samples. Sockets are reported with their range: keep-alive pools
 * open and close connections with the bursts of load, so their count breathes without leaking.
 *
 *   bun bench/soak.ts [--minutes 60] [--rate 50] [--sessions 50] [--binary dist/drost]
 *
 * Exits 1 when a target is missed or a turn does not complete. Not part of CI (it takes an hour).
 */
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { spawnGateway } from "../test/lib/gateway.ts"
import { workspace } from "../test/lib/workspace.ts"
import { count, ensureBinary, fdKinds, finishMachine, machine, report, round, rssMb, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    rate: { type: "string", default: "50" },
    sessions: { type: "string", default: "50" },
    binary: { type: "string" },
  },
})
const MINUTES = Number(values.minutes)
const RATE = Number(values.rate)
const SESSIONS = Number(values.sessions)
const PER_SESSION = 20
const info = machine()
const binary = await ensureBinary(values.binary)

const fake = await fakeOpenAI({ key: null })
// Now and then a tool call, so the tool path (registry, worker) is soaked too.
let replies = 0
fake.always(null)
const nextReply = () =>
  ++replies % 10 === 0
    ? [reply().tool("file.read", { path: "notes.txt" }), reply().text("The notes say alpha.")]
    : [reply().text("A short answer.")]
const ws = await workspace({
  config: {
    providers: {
      profiles: [
        { id: "fake", kind: "openai-compatible", model: "gpt-test", baseUrl: fake.baseUrl, apiKeyEnv: "BENCH_KEY" },
      ],
    },
    controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
  },
  files: { "notes.txt": "alpha\n" },
})
const gw = await spawnGateway(ws.path, { command: [binary], env: { BENCH_KEY: "bench-key", DROST_LOG_LEVEL: "warn" } })

const samples: { at: number; rss: number; fds: number; sockets: number }[] = []
const latencies: number[] = []
let completed = 0
let failed = 0
const failures: string[] = []
const durationMs = MINUTES * 60_000
const started = performance.now()
const sample = () => {
  const fds = fdKinds(gw.pid)
  samples.push({ at: (performance.now() - started) / 1000, rss: rssMb(gw.pid), fds: fds.other, sockets: fds.sockets })
}
const sampler = setInterval(() => {
  sample()
  const last = samples.at(-1)!
  console.log(
    `  ${Math.round(last.at)} s · ${count(completed)} turns · RSS ${last.rss} MB · ${last.fds} fds + ${last.sockets} sockets${failed ? ` · ${failed} failed` : ""}`,
  )
  fake.hits.splice(0, fake.hits.length)
}, 10_000)

const pool: { id: string; used: number; busy: boolean }[] = []
const fresh = async () => ({
  id: ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id,
  used: 0,
  busy: false,
})
for (let i = 0; i < SESSIONS; i++) pool.push(await fresh())

async function turn(slot: number) {
  const session = pool[slot]!
  session.busy = true
  const begun = performance.now()
  try {
    fake.queue(...nextReply())
    const response = await gw.api(`/sessions/${session.id}/turn`, {
      method: "POST",
      json: { input: "What do the notes say?" },
    })
    const result = (await response.json()) as { status: string; reason?: string }
    if (result.status === "completed") completed++
    else {
      failed++
      if (failures.length < 10) failures.push(JSON.stringify(result).slice(0, 200))
    }
    latencies.push(performance.now() - begun)
    if (++session.used >= PER_SESSION) pool[slot] = await fresh()
  } finally {
    session.busy = false
  }
}

try {
  sample()
  // Open loop at RATE turns/s: a tick every 1000/RATE ms starts a turn on a free session.
  const running = new Set<Promise<void>>()
  let ticks = 0
  let skipped = 0
  while (performance.now() - started < durationMs) {
    const due = started + (ticks * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await Bun.sleep(wait)
    ticks++
    const slot = pool.findIndex((session) => !session.busy)
    if (slot < 0) {
      skipped++
      continue
    }
    const pending = turn(slot).finally(() => running.delete(pending))
    running.add(pending)
  }
  await Promise.all(running)
  clearInterval(sampler)
  sample()
  // Medians of the six samples (a minute) after the warm-up and of the last six: one sample catches a
  // GC cycle or a keep-alive socket opening, a minute's median does not.
  const after = samples.findIndex((entry) => entry.at >= (durationMs / 1000) * 0.1)
  const window = (from: number) => samples.slice(Math.max(0, from), Math.max(0, from) + 6)
  const median = (rows: typeof samples, key: "rss" | "fds" | "sockets") =>
    [...rows.map((row) => row[key])].sort((a, b) => a - b)[Math.floor(rows.length / 2)]!
  const warmRows = window(after)
  const endRows = window(samples.length - 6)
  const warm = { rss: median(warmRows, "rss"), fds: median(warmRows, "fds"), sockets: median(warmRows, "sockets") }
  const end = { rss: median(endRows, "rss"), fds: median(endRows, "fds"), sockets: median(endRows, "sockets") }
  const socketRange = [Math.min(...samples.map((row) => row.sockets)), Math.max(...samples.map((row) => row.sockets))]
  const rssGrowth = (end.rss - warm.rss) / warm.rss
  const fdGrowth = end.fds - warm.fds
  const seconds = (performance.now() - started) / 1000
  const stats = summarize(latencies)
  finishMachine(info)
  report(
    `soak · ${MINUTES} min at ${RATE} turns/s · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    [
      [
        "turns completed / failed",
        `${count(completed)} / ${failed}`,
        `${round(completed / seconds, 1)} turns/s achieved${skipped ? `, ${skipped} ticks with no free session` : ""}`,
      ],
      ["turn latency p50 / p99", `${round(stats.p50, 1)} / ${round(stats.p99, 1)} ms`, ""],
      [
        "gateway RSS after warm-up → end (medians)",
        `${warm.rss} → ${end.rss} MB`,
        `growth ${round(rssGrowth * 100, 1)} %, target < 10 %`,
      ],
      ["open fds other than sockets, after warm-up → end (medians)", `${warm.fds} → ${end.fds}`, "target: no growth"],
      [
        "open sockets after warm-up → end (medians); range",
        `${warm.sockets} → ${end.sockets}; ${socketRange[0]}–${socketRange[1]}`,
        "keep-alive pools: bounded, not growing",
      ],
    ],
    {
      bench: "soak",
      minutes: MINUTES,
      rate: RATE,
      completed,
      failed,
      achieved_per_s: round(completed / seconds, 1),
      p50_ms: round(stats.p50),
      p99_ms: round(stats.p99),
      rss_warm_mb: warm.rss,
      rss_end_mb: end.rss,
      rss_growth_pct: round(rssGrowth * 100, 1),
      fds_warm: warm.fds,
      fds_end: end.fds,
      sockets_warm: warm.sockets,
      sockets_end: end.sockets,
      samples: samples.map((entry) => [Math.round(entry.at), entry.rss, entry.fds, entry.sockets]),
      machine: info,
    },
  )
  if (failures.length) console.log(`failures (first ${failures.length}):\n  ${failures.join("\n  ")}`)
  process.exitCode = failed > 0 || rssGrowth >= 0.1 || fdGrowth > 0 ? 1 : 0
} finally {
  clearInterval(sampler)
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
}
