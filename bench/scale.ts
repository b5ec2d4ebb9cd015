/**
 * Scale-out (issue 22 item 5): turns/s and latency of 1, 2 and 3 gateways on one PostgreSQL behind a
 * round-robin proxy, beside one gateway on SQLite (directly and through the same proxy, so the proxy's
 * own cost is visible), against the fake OpenAI on loopback (zero latency, a short streamed answer).
 *
 *   bun bench/scale.ts [--seconds 8] [--concurrency 64] [--samples 200] [--nodes 1,2,3] [--binary dist/drost]
 *
 * Each configuration: a warm-up, `--samples` turns one after another on one session (latency: p50/p99,
 * and "added" = that minus the same request sent straight to the fake), then `--concurrency` clients,
 * each on its own session (a fresh one every 20 turns), for `--seconds` (turns/s). Through
 * `POST /control/v1/sessions/:id/turn`; every turn must complete. The cluster is test/lib/cluster.ts,
 * PostgreSQL test/lib/postgres.ts (Debian's server in a temporary folder, fsync off: it measures the
 * gateways, not the disk). A configuration the gateway refuses to start is reported with its reason.
 */
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { type Cluster, startCluster } from "../test/lib/cluster.ts"
import { postgresMissing, startPostgres } from "../test/lib/postgres.ts"
import { finishMachine, machine, ms, report, round, type Row, type Summary, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    concurrency: { type: "string", default: "64" },
    samples: { type: "string", default: "200" },
    nodes: { type: "string", default: "1,2,3" },
    binary: { type: "string" },
  },
})
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const SAMPLES = Number(values.samples)
const NODES = values.nodes.split(",").map(Number)
const PER_SESSION = 20
const INPUT = "Summarise todo.md for me, briefly."
const info = machine()

const fake = await fakeOpenAI({ key: null })
fake.always(reply().text("Done: the file lists three tasks, two of them finished.").usage({ input: 120, output: 14 }))
const config = {
  providers: {
    profiles: [
      { id: "fake", kind: "openai-compatible", model: "gpt-test", baseUrl: fake.baseUrl, apiKeyEnv: "BENCH_KEY" },
    ],
  },
  controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
}
const trim = setInterval(() => fake.hits.splice(0, fake.hits.length), 250)

type Send = (path: string, init: RequestInit & { json?: unknown }) => Promise<Response>

async function session(send: Send): Promise<string> {
  const response = await send("/sessions", { method: "POST", json: {} })
  if (response.status !== 201) throw new Error(`create session: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { id: string }).id
}

async function turn(send: Send, id: string) {
  const response = await send(`/sessions/${id}/turn`, { method: "POST", json: { input: INPUT } })
  const result = (await response.json()) as { status: string }
  if (response.status !== 200 || result.status !== "completed")
    throw new Error(`turn: ${response.status} ${JSON.stringify(result)}`)
}

interface Measured {
  one: Summary
  turnsPerSecond: number
}

async function measure(send: Send): Promise<Measured> {
  const first = await session(send)
  for (let i = 0; i < 50; i++) await turn(send, first) // warm-up: JIT, pools, caches
  const samples: number[] = []
  let id = first
  for (let i = 0; i < SAMPLES; i++) {
    if (i % PER_SESSION === 0) id = await session(send)
    const started = performance.now()
    await turn(send, id)
    samples.push(performance.now() - started)
  }
  let done = 0
  let setup = 0
  const deadline = performance.now() + SECONDS * 1000
  const begun = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      let mine = ""
      for (let n = 0; performance.now() < deadline; n++) {
        if (n % PER_SESSION === 0) {
          const at = performance.now()
          mine = await session(send)
          setup += performance.now() - at
        }
        await turn(send, mine)
        done++
      }
    }),
  )
  const busy = (performance.now() - begun) / 1000 - setup / 1000 / CONCURRENCY
  return { one: summarize(samples), turnsPerSecond: done / busy }
}

/** The request a turn sends, straight to the fake: what the provider alone costs. */
async function direct(): Promise<Summary> {
  const body = JSON.stringify(fake.requests("chat").at(-1)?.body ?? { model: "gpt-test", messages: [] })
  const samples: number[] = []
  for (let i = 0; i < SAMPLES + 50; i++) {
    const started = performance.now()
    const response = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench" },
      body,
    })
    await response.text()
    if (i >= 50) samples.push(performance.now() - started)
  }
  return summarize(samples)
}

type Outcome = { label: string; engine: string; nodes: number; proxy: boolean } & (
  | { measured: Measured }
  | { refused: string }
)

const command = values.binary ? [values.binary] : undefined
const env = { BENCH_KEY: "bench-key" }

async function run(
  label: string,
  engine: "sqlite" | "postgres",
  nodes: number,
  proxy: boolean,
  storeUrl?: string,
): Promise<Outcome> {
  let cluster: Cluster | null = null
  try {
    cluster = await startCluster({ nodes, storeUrl, config, env, command })
    const node = cluster.nodes[0]!.gw!
    const send: Send = proxy ? cluster.api : (path, init) => node.api(path, init)
    return { label, engine, nodes, proxy, measured: await measure(send) }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // A gateway that would not start: its own words (what it printed after the harness's first line).
    const said = message
      .split("\n")
      .slice(1)
      .map((line) => line.trim())
      .filter(Boolean)
    const reason = said.length ? said.join(" ") : message
    return { label, engine, nodes, proxy, refused: reason.slice(0, 400) }
  } finally {
    await cluster?.[Symbol.asyncDispose]()
  }
}

const outcomes: Outcome[] = []
outcomes.push(await run("SQLite, 1 gateway, direct", "sqlite", 1, false))
const provider = await direct()
outcomes.push(await run("SQLite, 1 gateway, through the proxy", "sqlite", 1, true))
const missing = postgresMissing()
const pg = missing ? null : await startPostgres()
for (const nodes of NODES) {
  const label = `PostgreSQL, ${nodes} gateway${nodes === 1 ? "" : "s"}, through the proxy`
  if (!pg) outcomes.push({ label, engine: "postgres", nodes, proxy: true, refused: missing! })
  else outcomes.push(await run(label, "postgres", nodes, true, await pg.database()))
}
await pg?.stop()
clearInterval(trim)
await fake.close()

const rows: Row[] = [["provider alone (direct request), p50 / p99", `${ms(provider.p50)} / ${ms(provider.p99)}`, ""]]
const json: Record<string, unknown>[] = []
for (const outcome of outcomes) {
  if ("refused" in outcome) {
    rows.push([outcome.label, "not run", outcome.refused])
    json.push({ engine: outcome.engine, nodes: outcome.nodes, proxy: outcome.proxy, refused: outcome.refused })
    continue
  }
  const { one, turnsPerSecond } = outcome.measured
  rows.push([
    outcome.label,
    `${Math.round(turnsPerSecond)} turns/s`,
    `one session p50 ${ms(one.p50)} (added ${ms(one.p50 - provider.p50)}), p99 ${ms(one.p99)}`,
  ])
  json.push({
    engine: outcome.engine,
    nodes: outcome.nodes,
    proxy: outcome.proxy,
    turns_per_s: Math.round(turnsPerSecond),
    p50_ms: round(one.p50),
    p99_ms: round(one.p99),
    added_p50_ms: round(one.p50 - provider.p50),
    added_p99_ms: round(one.p99 - provider.p99),
  })
}
report(`scale-out: ${CONCURRENCY} sessions for ${SECONDS} s, ${SAMPLES} sequential turns`, rows, {
  bench: "scale",
  concurrency: CONCURRENCY,
  seconds: SECONDS,
  provider_p50_ms: round(provider.p50),
  provider_p99_ms: round(provider.p99),
  runs: json,
  machine: finishMachine(info),
})
