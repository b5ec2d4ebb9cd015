/**
 * Memory of the compiled gateway: RSS when idle, and with N (default 1,000) live sessions — each
 * created through the Control API and given turns (so it has history, a stored turn and its queue
 * state in memory), driven 32 at a time against the fake OpenAI provider.
 * Targets: idle ≤ 60 MB, 1,000 sessions ≤ 150 MB.
 *
 *   bun bench/rss.ts [--sessions 1000] [--turns 2] [--binary dist/drost]
 *
 * `drost start` is a small supervisor with the gateway as its child: the figures are the gateway's
 * RSS (the child, where sessions live) and, separately, the supervisor's.
 */
import { parseArgs } from "node:util"
import { fakeOpenAI, reply } from "../test/fake/openai.ts"
import { spawnGateway } from "../test/lib/gateway.ts"
import { workspace } from "../test/lib/workspace.ts"
import { ensureBinary, finishMachine, machine, report, rssMb } from "./lib.ts"

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "1000" },
    turns: { type: "string", default: "2" },
    binary: { type: "string" },
  },
})
const SESSIONS = Number(values.sessions)
const TURNS = Number(values.turns)
const info = machine()
const binary = await ensureBinary(values.binary)

const fake = await fakeOpenAI({ key: null })
fake.always(reply().text("A short answer, as most are.").usage({ input: 100, output: 8 }))
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
try {
  // Idle: after start-up work (tool load, memory index) has settled.
  await Bun.sleep(3_000)
  const idle = rssMb(gw.pid)
  const supervisor = rssMb(gw.proc.pid)

  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < SESSIONS) {
      next++
      const { id } = (await (
        await gw.api("/sessions", { method: "POST", json: { title: `live ${next}` } })
      ).json()) as { id: string }
      for (let turn = 0; turn < TURNS; turn++) {
        const result = (await (
          await gw.api(`/sessions/${id}/turn`, {
            method: "POST",
            json: { input: `message ${turn} of session ${next}` },
          })
        ).json()) as { status: string }
        if (result.status !== "completed") throw new Error(`turn: ${JSON.stringify(result)}`)
      }
      if (next % 100 === 0) fake.hits.splice(0, fake.hits.length)
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker))
  const busy = rssMb(gw.pid)
  await Bun.sleep(3_000)
  const settled = rssMb(gw.pid)
  const seconds = (performance.now() - started) / 1000
  finishMachine(info)
  report(
    `RSS · ${info.cores} × ${info.cpu} · load ${info.loadStart} → ${info.loadEnd} · ${binary}`,
    [
      ["gateway RSS, idle", `${idle} MB`, "target ≤ 60 MB"],
      [`gateway RSS, ${SESSIONS} live sessions (${TURNS} turns each), right after`, `${busy} MB`, "target ≤ 150 MB"],
      [`gateway RSS, ${SESSIONS} live sessions, 3 s later`, `${settled} MB`, "target ≤ 150 MB"],
      ["supervisor RSS", `${supervisor} MB`, ""],
    ],
    {
      bench: "rss",
      idle_mb: idle,
      sessions: SESSIONS,
      turns_per_session: TURNS,
      live_mb: busy,
      live_settled_mb: settled,
      supervisor_mb: supervisor,
      fill_s: Math.round(seconds * 10) / 10,
      machine: info,
    },
  )
} finally {
  await gw[Symbol.asyncDispose]()
  await fake.close()
  await ws[Symbol.asyncDispose]()
}
