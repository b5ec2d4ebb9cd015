/**
 * Turn overhead: what the gateway adds to a model call, measured side by side with the same request
 * sent straight to the fake provider and with the floor (a bare Bun.serve + one SQLite insert + one
 * fetch to the fake, `bench/floor.ts`), at 1 and at N (default 64) concurrent sessions.
 *
 *   bun bench/turn-overhead.ts [--seconds 8] [--concurrency 64] [--samples 400] [--per-session 20] [--binary dist/drost] [--profile DIR]
 *
 * The provider is the fake OpenAI server (test/fake/openai.ts, Chat Completions, zero latency, a short
 * streamed answer) on loopback. The gateway runs as its own process (`bun src/index.ts start`, or the
 * compiled executable with `--binary`; CPU figures are the gateway process's own, not its supervisor's) and is
 * driven through the Control API (`POST /control/v1/sessions/:id/turn`) and through the OpenAI-compatible
 * endpoint (`POST /v1/chat/completions`). "Direct" replays the exact request body the gateway sent to
 * the fake, so the difference is the gateway's own cost per turn: store the message and the turn
 * (IMMEDIATE transactions), load the history, build the request, stream, store the answer, publish the
 * events (the JSONL sink included), answer the client. Every turn is durable; at the end the store is
 * checked to hold every acknowledged turn as completed.
 *
 * Each client rotates to a fresh session every `--per-session` turns, so the history a turn carries
 * stays a realistic conversation instead of growing without bound over the run.
 *
 * added_p50_ms / added_p99_ms = gateway percentile − direct percentile at the same concurrency.
 */
import { Database } from "bun:sqlite"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { spawnGateway } from "../test/lib/gateway.ts"
import { workspace } from "../test/lib/workspace.ts"
import { count, cpuMs, finishMachine, machine, ms, report, round, type Summary, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    concurrency: { type: "string", default: "64" },
    samples: { type: "string", default: "400" },
    "per-session": { type: "string", default: "20" },
    /** Run this compiled executable instead of `bun src/index.ts` (e.g. dist/drost). */
    binary: { type: "string" },
    /** Write a CPU profile of the gateway (Bun's --cpu-prof, .cpuprofile for Chrome DevTools) into this folder. */
    profile: { type: "string" },
  },
})
const SECONDS = Number(values.seconds)
const CONCURRENCY = Number(values.concurrency)
const SAMPLES = Number(values.samples)
const PER_SESSION = Number(values["per-session"])
const info = machine()

const fake = await fakeOpenAI({ key: null })
fake.always(reply().text("Done: the file lists three tasks, two of them finished.").usage({ input: 120, output: 14 }))
const ws = await workspace({
  config: {
    providers: {
      profiles: [
        { id: "fake", kind: "openai-compatible", model: "gpt-test", baseUrl: fake.baseUrl, apiKeyEnv: "BENCH_KEY" },
      ],
    },
    controlApi: { port: 0, openaiCompatible: true, mutationsPerMinute: 100_000_000 },
  },
})
const gw = await spawnGateway(ws.path, {
  ...(values.binary ? { command: [resolve(values.binary)] } : {}),
  env: {
    BENCH_KEY: "bench-key",
    DROST_LOG_LEVEL: "warn",
    ...(values.profile ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${values.profile}` } : {}),
  },
})
const scratch = mkdtempSync(join(tmpdir(), "drost-bench-floor-"))

/** One client's rotating session (created outside the timed call). */
async function freshSession(): Promise<string> {
  const response = await gw.api("/sessions", { method: "POST", json: {} })
  if (response.status !== 201) throw new Error(`create session: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { id: string }).id
}

type Call = () => Promise<void>
/** A client: `prepare` runs untimed before each call (session rotation), `call` is timed. */
type Client = { prepare?: () => Promise<void>; call: Call }

let acknowledged = 0
function controlClient(): Client {
  let session = ""
  let used = PER_SESSION
  return {
    async prepare() {
      if (used++ < PER_SESSION) return
      session = await freshSession()
      used = 1
    },
    async call() {
      const response = await gw.api(`/sessions/${session}/turn`, {
        method: "POST",
        json: { input: "Summarise todo.md for me, briefly." },
      })
      const result = (await response.json()) as { status: string; reason?: string }
      if (response.status !== 200 || result.status !== "completed")
        throw new Error(`turn: ${response.status} ${JSON.stringify(result)}`)
      acknowledged++
    },
  }
}

function openaiClient(): Client {
  let session = ""
  let used = PER_SESSION
  return {
    async prepare() {
      if (used++ < PER_SESSION) return
      session = await freshSession()
      used = 1
    },
    async call() {
      const response = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${gw.token}`,
          "content-type": "application/json",
          "x-drost-session": session,
        },
        body: JSON.stringify({
          model: "drost",
          messages: [{ role: "user", content: "Summarise todo.md for me, briefly." }],
        }),
      })
      const body = (await response.json()) as { choices?: { message: { content: string } }[] }
      if (response.status !== 200 || !body.choices?.[0]?.message.content)
        throw new Error(`openai endpoint: ${response.status} ${JSON.stringify(body)}`)
      acknowledged++
    },
  }
}

function directClient(body: string): Client {
  return {
    async call() {
      const response = await fetch(`${fake.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer bench" },
        body,
      })
      const text = await response.text()
      if (response.status !== 200 || !text.includes("[DONE]"))
        throw new Error(`direct: ${response.status} ${text.slice(0, 200)}`)
    },
  }
}

function floorClient(url: string): Client {
  return {
    async call() {
      const response = await fetch(url, {
        method: "POST",
        body: JSON.stringify({ input: "Summarise todo.md for me, briefly." }),
      })
      const text = await response.text()
      if (response.status !== 200 || !text.includes("[DONE]"))
        throw new Error(`floor: ${response.status} ${text.slice(0, 200)}`)
    },
  }
}

/** The fake keeps every request it saw; a bench makes hundreds of thousands. */
const trimHits = () => fake.hits.splice(0, fake.hits.length)

async function sequential(client: Client, n: number): Promise<Summary> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    await client.prepare?.()
    const started = performance.now()
    await client.call()
    samples.push(performance.now() - started)
    if (i % 200 === 0) trimHits()
  }
  return summarize(samples)
}

async function concurrent(
  make: () => Client,
  workers: number,
  seconds: number,
): Promise<Summary & { perSecond: number }> {
  const samples: number[] = []
  const deadline = performance.now() + seconds * 1000
  let timedMs = 0
  const trim = setInterval(trimHits, 250)
  const begun = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const client = make()
      while (performance.now() < deadline) {
        const prepared = performance.now()
        await client.prepare?.()
        const started = performance.now()
        timedMs += started - prepared
        await client.call()
        samples.push(performance.now() - started)
      }
    }),
  )
  clearInterval(trim)
  const wall = (performance.now() - begun) / 1000
  // Session creation (every PER_SESSION turns per client) is not a turn: its share of the wall is left out.
  const busy = wall - timedMs / 1000 / workers
  return { ...summarize(samples), perSecond: samples.length / busy }
}

type Phase = { one: Summary; many: Summary & { perSecond: number }; cpuPerCallMs: number | null }
/** `pid`: the server process whose CPU time per call is reported (load-independent, unlike latency). */
async function phase(make: () => Client, pid: number | null): Promise<Phase> {
  await sequential(make(), Math.min(100, SAMPLES)) // warm-up: JIT, page cache, connection pools
  const cpuBefore = pid ? cpuMs(pid) : 0
  const one = await sequential(make(), SAMPLES)
  const many = await concurrent(make, CONCURRENCY, SECONDS)
  const cpuPerCallMs = pid ? (cpuMs(pid) - cpuBefore) / (one.n + many.n) : null
  return { one, many, cpuPerCallMs }
}

let floorProc: ReturnType<typeof Bun.spawn> | null = null
try {
  // The exact request the gateway sends the model for a turn of a conversation, for the direct and floor runs.
  const warm = controlClient()
  for (let i = 0; i < 3; i++) {
    await warm.prepare?.()
    await warm.call()
  }
  const recorded = JSON.stringify(fake.requests("chat").at(-1)!.body)
  writeFileSync(join(scratch, "request.json"), recorded)

  const direct = await phase(() => directClient(recorded), null)
  const control = await phase(controlClient, gw.pid)
  const openai = await phase(openaiClient, gw.pid)

  const child = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "floor.ts"),
      "--upstream",
      `${fake.baseUrl}/chat/completions`,
      "--body",
      join(scratch, "request.json"),
      "--db",
      join(scratch, "floor.db"),
    ],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  )
  floorProc = child
  const line = (await child.stdout.getReader().read()).value
  const floorUrl = (JSON.parse(new TextDecoder().decode(line).split("\n")[0]!) as { url: string }).url
  const floor = await phase(() => floorClient(floorUrl), child.pid)

  // Durability: every acknowledged turn is in the store, completed.
  await gw.stop()
  const db = new Database(join(ws.path, ".drost", "drost.db"), { readonly: true })
  const stored = (db.query("SELECT count(*) AS n FROM turns WHERE status = 'completed'").get() as { n: number }).n
  db.close()
  if (stored < acknowledged) throw new Error(`only ${stored} completed turns stored for ${acknowledged} acknowledged`)

  const added = (run: Phase) => ({
    one_p50: round(run.one.p50 - direct.one.p50),
    one_p99: round(run.one.p99 - direct.one.p99),
    many_p50: round(run.many.p50 - direct.many.p50),
    many_p99: round(run.many.p99 - direct.many.p99),
  })
  const addedControl = added(control)
  const addedOpenai = added(openai)
  const addedFloor = added(floor)
  finishMachine(info)
  const N = CONCURRENCY
  const rows: [string, string, string][] = [
    ["direct to the fake, 1 client: p50 / p99", `${ms(direct.one.p50)} / ${ms(direct.one.p99)}`, "(baseline)"],
    ["added by the gateway (Control API), 1 session: p50", ms(addedControl.one_p50), "target ≤ 1 ms"],
    ["added by the gateway (Control API), 1 session: p99", ms(addedControl.one_p99), "target ≤ 5 ms"],
    [
      "added by the gateway (OpenAI endpoint), 1 session: p50 / p99",
      `${ms(addedOpenai.one_p50)} / ${ms(addedOpenai.one_p99)}`,
      "target ≤ 1 / ≤ 5 ms",
    ],
    [
      "added by the floor, 1 client: p50 / p99",
      `${ms(addedFloor.one_p50)} / ${ms(addedFloor.one_p99)}`,
      "(machine limit)",
    ],
    [
      `added by the gateway (Control API), ${N} sessions: p50 / p99`,
      `${ms(addedControl.many_p50)} / ${ms(addedControl.many_p99)}`,
      "target ≤ 1 / ≤ 5 ms",
    ],
    [
      `added by the gateway (OpenAI endpoint), ${N} sessions: p50 / p99`,
      `${ms(addedOpenai.many_p50)} / ${ms(addedOpenai.many_p99)}`,
      "",
    ],
    [
      `added by the floor, ${N} clients: p50 / p99`,
      `${ms(addedFloor.many_p50)} / ${ms(addedFloor.many_p99)}`,
      "(machine limit)",
    ],
    [`turns/s, Control API, ${N} sessions, durable`, count(control.many.perSecond), "target ≥ 3,000"],
    [`turns/s, OpenAI endpoint, ${N} sessions, durable`, count(openai.many.perSecond), ""],
    [`requests/s, floor, ${N} clients`, count(floor.many.perSecond), "(machine limit)"],
    [`requests/s, direct to the fake, ${N} clients`, count(direct.many.perSecond), ""],
    [
      "gateway CPU per turn (Control API / OpenAI endpoint)",
      `${ms(control.cpuPerCallMs!)} / ${ms(openai.cpuPerCallMs!)}`,
      "(independent of load)",
    ],
    ["floor CPU per request", ms(floor.cpuPerCallMs!), "(machine limit)"],
    ["acknowledged turns stored completed", `${count(stored)} / ${count(acknowledged)}`, "all"],
  ]
  const r = (s: Summary & { perSecond?: number }) => ({
    p50: round(s.p50),
    p90: round(s.p90),
    p99: round(s.p99),
    n: s.n,
    ...(s.perSecond ? { per_s: Math.round(s.perSecond) } : {}),
  })
  report(
    `turn overhead · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd} · ${SECONDS} s at ${N} · ${SAMPLES} sequential samples`,
    rows,
    {
      bench: "turn-overhead",
      added_p50_ms: addedControl.one_p50,
      added_p99_ms: addedControl.one_p99,
      turns_per_s: Math.round(control.many.perSecond),
      added_concurrent_p50_ms: addedControl.many_p50,
      added_concurrent_p99_ms: addedControl.many_p99,
      openai_added_p50_ms: addedOpenai.one_p50,
      openai_added_p99_ms: addedOpenai.one_p99,
      openai_turns_per_s: Math.round(openai.many.perSecond),
      floor_added_p50_ms: addedFloor.one_p50,
      floor_added_p99_ms: addedFloor.one_p99,
      floor_per_s: Math.round(floor.many.perSecond),
      cpu_per_turn_ms: round(control.cpuPerCallMs!),
      openai_cpu_per_turn_ms: round(openai.cpuPerCallMs!),
      floor_cpu_per_request_ms: round(floor.cpuPerCallMs!),
      concurrency: N,
      stored_completed: stored,
      acknowledged,
      raw: {
        direct: { one: r(direct.one), many: r(direct.many) },
        control: { one: r(control.one), many: r(control.many) },
        openai: { one: r(openai.one), many: r(openai.many) },
        floor: { one: r(floor.one), many: r(floor.many) },
      },
      machine: info,
    },
  )
} finally {
  floorProc?.kill()
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
  rmSync(scratch, { recursive: true, force: true })
}
