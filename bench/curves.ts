/**
 * Cost curves (issue 23, item 6), one so far: the gateway's CPU per turn against the history a session
 * already holds (10, 100, 1,000, 10,000 stored messages), compaction on (the default context settings:
 * a 32,000-token window, older turns summarised once the history does not fit).
 *
 *   bun bench/curves.ts [--turns 200] [--lengths 10,100,1000,10000] [--binary dist/drost] [--profile DIR]
 *
 * The store is filled before the gateway starts (the real schema and migrations, one session per
 * length, alternating user/assistant messages of about 100 characters), then each session gets
 * `--turns` turns through the Control API against the fake OpenAI provider (zero latency). The first
 * turn of a session is reported on its own: it loads the history and, past the window, asks the fake
 * for the summary (compaction); the steady figure is the CPU of the turns after it, per turn (the
 * gateway process's own CPU time from /proc, so the total over the turns is divided, not sampled).
 * The floor (`bench/floor.ts`'s bare Bun.serve + insert + fetch) does not depend on history; its CPU is
 * in bench/turn-overhead.ts. Prints a table and one JSON line.
 */
import { parseArgs } from "node:util"
import { open } from "../src/store/db.ts"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { spawnGateway } from "../test/lib/gateway.ts"
import { workspace } from "../test/lib/workspace.ts"
import { cpuMs, finishMachine, machine, report, round } from "./lib.ts"

const { values } = parseArgs({
  options: {
    turns: { type: "string", default: "200" },
    lengths: { type: "string", default: "10,100,1000,10000" },
    binary: { type: "string" },
    /** Write a CPU profile of the gateway (Bun's --cpu-prof) into this folder. */
    profile: { type: "string" },
  },
})
const TURNS = Number(values.turns)
const LENGTHS = values.lengths!.split(",").map(Number)
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
    controlApi: { port: 0, mutationsPerMinute: 100_000_000 },
  },
})

/** One session per length, filled straight into the store (same schema, via the real migrations). */
function fill(): string[] {
  const db = open(ws.file(".drost/drost.db"))
  const now = Date.now()
  const session = db.prepare(
    "INSERT INTO sessions (id, title, created_at, updated_at, provider, channel, message_count) VALUES (?, ?, ?, ?, 'fake', 'api', ?)",
  )
  const message = db.prepare("INSERT INTO messages (id, session_id, role, parts, created_at) VALUES (?, ?, ?, ?, ?)")
  const ids = LENGTHS.map((_, i) => `ses_curve${String(i).padStart(8, "0")}`)
  db.transaction(() => {
    for (const [i, length] of LENGTHS.entries()) {
      session.run(ids[i]!, `history ${length}`, now - 60_000, now - 60_000, length)
      for (let m = 0; m < length; m++)
        message.run(
          `msg_c${i}_${m}`,
          ids[i]!,
          m % 2 ? "assistant" : "user",
          JSON.stringify([
            { type: "text", text: `message ${m}: the quick brown fox jumps over the lazy dog ${"x".repeat(40)}` },
          ]),
          now - 60_000 + m,
        )
    }
  }).immediate()
  db.close()
  return ids
}

const ids = fill()
const gw = await spawnGateway(ws.path, {
  ...(values.binary ? { command: [values.binary] } : {}),
  env: {
    BENCH_KEY: "bench-key",
    DROST_LOG_LEVEL: "warn",
    ...(values.profile ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${values.profile}` } : {}),
  },
})
const turn = async (id: string, i: number) => {
  const result = (await (
    await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `question ${i} about the tasks` } })
  ).json()) as { status: string }
  if (result.status !== "completed") throw new Error(`turn ${i} in ${id}: ${JSON.stringify(result)}`)
}
try {
  // Warm the gateway up on a session of its own, so the first length does not pay for the JIT.
  const warm = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  for (let i = 0; i < 200; i++) await turn(warm, i)
  const rows = []
  for (const [index, length] of LENGTHS.entries()) {
    const id = ids[index]!
    const calls = fake.hits.length
    let at = cpuMs(gw.pid)
    let wall = performance.now()
    await turn(id, 0)
    const first = {
      cpuMs: cpuMs(gw.pid) - at,
      wallMs: performance.now() - wall,
      providerCalls: fake.hits.length - calls,
    }
    at = cpuMs(gw.pid)
    wall = performance.now()
    for (let i = 1; i <= TURNS; i++) await turn(id, i)
    rows.push({
      length,
      first: { cpuMs: round(first.cpuMs, 1), wallMs: round(first.wallMs, 1), providerCalls: first.providerCalls },
      steadyCpuPerTurnMs: round((cpuMs(gw.pid) - at) / TURNS),
      steadyWallPerTurnMs: round((performance.now() - wall) / TURNS),
    })
    if (fake.hits.length > 1000) fake.hits.splice(0, fake.hits.length)
  }
  finishMachine(info)
  report(
    `curve · turn CPU against stored history (compaction on) · ${TURNS} turns each · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd}`,
    rows.map((row) => [
      `${row.length.toLocaleString("en-US")} messages`,
      `${row.steadyCpuPerTurnMs.toFixed(3)} ms CPU/turn (wall ${row.steadyWallPerTurnMs.toFixed(2)} ms)`,
      `first turn ${row.first.cpuMs} ms CPU, ${row.first.wallMs} ms, ${row.first.providerCalls} provider call(s)`,
    ]),
    { bench: "curves", curve: "history", turns: TURNS, rows, machine: info },
  )
} finally {
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
}
