/**
 * What a turn's end costs in the sessions store while the full-text index fills (issue 23): 3,000 turns
 * of 4 messages through `createSessionStore` on a file database, the duration of each `finishTurn` (its
 * closing transaction), and the CPU per turn of the whole loop. The loop yields to the event loop every
 * 10 turns, so the background index batches (src/store/search.ts) run between turns as they would.
 *
 *   bun bench/index-batch.ts [--turns 3000]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { open } from "../src/store/db.ts"
import { createSessionStore } from "../src/store/sessions.ts"
import { finishMachine, machine, report } from "./lib.ts"

const { values } = parseArgs({ options: { turns: { type: "string", default: "3000" } } })
const TURNS = Number(values.turns)
const info = machine()
const dir = mkdtempSync(join(tmpdir(), "drost-bench-index-"))
const db = open(join(dir, "drost.db"))
const store = createSessionStore(db)
const session = store.create({ provider: "demo" })
const ends: number[] = []
const started = process.cpuUsage()
for (let i = 0; i < TURNS; i++) {
  const { turn } = store.beginTurn({
    sessionId: session.id,
    parts: [{ type: "text", text: `question ${i} about the tasks and the lazy dog` }],
    source: "api",
  })
  for (let m = 0; m < 3; m++)
    store.append({
      sessionId: session.id,
      turnId: turn.id,
      role: m === 1 ? "tool" : "assistant",
      parts: [{ type: "text", text: `answer ${i}.${m}: the quick brown fox jumps over the lazy dog twice` }],
    })
  const at = performance.now()
  store.finishTurn({
    id: turn.id,
    sessionId: session.id,
    status: "completed",
    usage: { input: 1, output: 1, cached: 0 },
    steps: 1,
    toolCalls: 0,
    messages: 4,
  })
  ends.push(performance.now() - at)
  if (i % 10 === 0) await Bun.sleep(0)
}
const cpu = process.cpuUsage(started)
await Bun.sleep(200)
const waiting = (db.query("SELECT count(*) AS n FROM messages_fts_pending").get() as { n: number }).n
db.close()
rmSync(dir, { recursive: true, force: true })
const sorted = ends.sort((a, b) => a - b)
const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
const row = {
  endP50Ms: Math.round(at(0.5) * 1000) / 1000,
  endP99Ms: Math.round(at(0.99) * 1000) / 1000,
  endMaxMs: Math.round(sorted.at(-1)! * 100) / 100,
  endsOver3Ms: sorted.filter((value) => value > 3).length,
  cpuPerTurnUs: Math.round((cpu.user + cpu.system) / TURNS),
  waitingAfter: waiting,
}
finishMachine(info)
report(
  `index batches · ${TURNS} turns of 4 messages · load ${info.loadStart} → ${info.loadEnd}`,
  [
    ["finishTurn p50 / p99 / max", `${row.endP50Ms} / ${row.endP99Ms} / ${row.endMaxMs} ms`, ""],
    ["turn ends over 3 ms", String(row.endsOver3Ms), ""],
    ["CPU per turn (whole loop)", `${row.cpuPerTurnUs} µs`, ""],
    ["messages still waiting for the index", String(row.waitingAfter), "< 1,024"],
  ],
  { bench: "index-batch", turns: TURNS, ...row, machine: info },
)
