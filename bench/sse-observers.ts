/**
 * Observers must not make turns fail (issue 14, item 9): N (default 2,000) SSE subscribers to
 * `GET /control/v1/events` that read everything, while 200 turns run through the Control API against a
 * fake OpenAI that answers in milliseconds. The audit saw 11 and 19 of 200 turns fail with "connect
 * timeout" here: the fan-out starved the event loop and the missed deadline was blamed on the provider.
 * Reports failed turns (target 0) and their reasons, how many failures were classified as a local
 * overload, turn latency with and without the observers, and whether every observer got every event.
 *
 *   bun bench/sse-observers.ts [--subscribers 2000] [--turns 200] [--concurrency 8] [--binary dist/drost]
 *                              [--profile DIR]
 *
 * Runs the source unless given `--binary`. The subscribers are raw sockets in this process (cheaper
 * than `fetch`, so this process is not the bottleneck it measures).
 */
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { ENTRY, spawnGateway } from "../test/lib/gateway.ts"
import { readSse } from "../test/lib/sse.ts"
import { type ReadingSubscriber, readingSubscriber } from "../test/lib/sse-socket.ts"
import { workspace } from "../test/lib/workspace.ts"
import { count, cpuMs, finishMachine, machine, ms, percentile, report, rssMb } from "./lib.ts"

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "2000" },
    turns: { type: "string", default: "200" },
    concurrency: { type: "string", default: "8" },
    binary: { type: "string" },
    /** Write a CPU profile of the gateway (Bun's --cpu-prof, .cpuprofile for Chrome DevTools) into this folder. */
    profile: { type: "string" },
  },
})
const SUBSCRIBERS = Number(values.subscribers)
const TURNS = Number(values.turns)
const CONCURRENCY = Number(values.concurrency)
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
    controlApi: { port: 0, mutationsPerMinute: 100_000_000, readToken: READ_TOKEN },
  },
})
const gw = await spawnGateway(ws.path, {
  command: values.binary ? [values.binary] : [process.execPath, ENTRY],
  env: {
    BENCH_KEY: "bench-key",
    DROST_LOG_LEVEL: "warn",
    ...(values.profile ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${values.profile}` } : {}),
  },
})

interface Outcome {
  failed: number
  reasons: Map<string, number>
  latencies: number[]
}

/** `TURNS` turns across the sessions, CONCURRENCY at a time. */
async function runTurns(sessions: string[]): Promise<Outcome> {
  let next = 0
  const outcome: Outcome = { failed: 0, reasons: new Map(), latencies: [] }
  await Promise.all(
    sessions.map(async (id) => {
      while (next < TURNS) {
        const n = next++
        const started = performance.now()
        const result = (await (
          await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `turn ${n}: say something short` } })
        ).json()) as { status: string; error?: string }
        outcome.latencies.push(performance.now() - started)
        if (result.status !== "completed") {
          outcome.failed++
          const reason = (result.error ?? result.status).replace(/\d+/g, "N").slice(0, 120)
          outcome.reasons.set(reason, (outcome.reasons.get(reason) ?? 0) + 1)
        }
        if (n % 50 === 0) fake.hits.splice(0, fake.hits.length)
      }
    }),
  )
  outcome.latencies.sort((a, b) => a - b)
  return outcome
}

/** Every `provider.attempt.failed` from now on, by kind (a local overload is not the provider's). */
function watchAttemptFailures(): { kinds: Record<string, number>; stop(): void } {
  const kinds: Record<string, number> = {}
  const abort = new AbortController()
  void (async () => {
    try {
      const response = await fetch(`${gw.url}/control/v1/events?type=provider.attempt.failed`, {
        headers: { authorization: `Bearer ${READ_TOKEN}` },
        signal: abort.signal,
      })
      for await (const event of readSse(response)) {
        const kind = (event.data as { data?: { kind?: string } }).data?.kind ?? "unknown"
        kinds[kind] = (kinds[kind] ?? 0) + 1
      }
    } catch {
      // stopped
    }
  })()
  return { kinds, stop: () => abort.abort() }
}

try {
  const sessions: string[] = []
  for (let i = 0; i < CONCURRENCY; i++)
    sessions.push(((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id)
  const alone = await runTurns(sessions)

  const subscribers: ReadingSubscriber[] = []
  for (let i = 0; i < SUBSCRIBERS; i += 100)
    subscribers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, () => readingSubscriber(gw.url, READ_TOKEN)),
      )),
    )
  const rssConnected = rssMb(gw.pid)
  const attemptFailures = watchAttemptFailures()
  const started = performance.now()
  const gatewayCpu = cpuMs(gw.pid)
  const ownCpu = process.cpuUsage()
  const observed = await runTurns(sessions)
  const seconds = (performance.now() - started) / 1000
  const gatewayCpuShare = (cpuMs(gw.pid) - gatewayCpu) / (seconds * 1000)
  const own = process.cpuUsage(ownCpu)
  const benchCpuShare = (own.user + own.system) / 1000 / (seconds * 1000)
  // Let the fan-out finish: every subscriber reaches the readers' common last id, or 10 s pass.
  const target = () => Math.max(...subscribers.map((entry) => entry.ids.at(-1) ?? 0))
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && subscribers.some((entry) => (entry.ids.at(-1) ?? 0) < target())) await Bun.sleep(100)
  const last = target()
  const behind = subscribers.filter((entry) => (entry.ids.at(-1) ?? 0) < last).length
  const cut = subscribers.filter((entry) => entry.overflowed || entry.closed).length
  const gaps = subscribers.filter((entry) => entry.ids.some((id, i) => i > 0 && id !== entry.ids[i - 1]! + 1)).length
  const events = subscribers.map((entry) => entry.ids.length)
  attemptFailures.stop()
  const failures = attemptFailures.kinds
  for (const entry of subscribers) entry.close()

  finishMachine(info)
  const reasons = [...observed.reasons].map(([reason, n]) => `${reason} ×${n}`).join("; ")
  report(
    `SSE observers · ${SUBSCRIBERS} reading subscribers · ${TURNS} turns in ${seconds.toFixed(1)} s · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    [
      ["turns failed with the observers", `${observed.failed} / ${TURNS}`, "target 0"],
      ["… their reasons", reasons || "—", ""],
      ["turns failed without them (same gateway, before)", `${alone.failed} / ${TURNS}`, ""],
      ["provider attempts failed (with observers), by kind", JSON.stringify(failures), ""],
      [
        "turn latency p50 / p99, without observers",
        `${ms(percentile(alone.latencies, 50))} / ${ms(percentile(alone.latencies, 99))}`,
        "",
      ],
      [
        "turn latency p50 / p99, with observers",
        `${ms(percentile(observed.latencies, 50))} / ${ms(percentile(observed.latencies, 99))}`,
        "",
      ],
      [
        "CPU during the observed turns: gateway / this bench's clients",
        `${(gatewayCpuShare * 100).toFixed(0)} % / ${(benchCpuShare * 100).toFixed(0)} % of a core`,
        "",
      ],
      ["gateway RSS with the observers connected", `${rssConnected} MB`, ""],
      [
        "events per observer (min / max); behind, cut off, with a gap",
        `${count(Math.min(...events))} / ${count(Math.max(...events))}`,
        `${behind} behind, ${cut} cut off, ${gaps} with a gap`,
      ],
    ],
    {
      bench: "sse-observers",
      subscribers: SUBSCRIBERS,
      turns: TURNS,
      seconds: Number(seconds.toFixed(2)),
      turns_failed: observed.failed,
      turns_failed_reasons: Object.fromEntries(observed.reasons),
      turns_failed_alone: alone.failed,
      provider_failures: failures,
      latency_alone_p50_ms: percentile(alone.latencies, 50),
      latency_alone_p99_ms: percentile(alone.latencies, 99),
      latency_observed_p50_ms: percentile(observed.latencies, 50),
      latency_observed_p99_ms: percentile(observed.latencies, 99),
      gateway_cpu_share: Number(gatewayCpuShare.toFixed(2)),
      bench_cpu_share: Number(benchCpuShare.toFixed(2)),
      rss_connected_mb: rssConnected,
      observer_events_min: Math.min(...events),
      observer_events_max: Math.max(...events),
      observers_behind: behind,
      observers_cut: cut,
      observers_with_gap: gaps,
      machine: info,
    },
  )
} finally {
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
}
