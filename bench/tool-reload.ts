/**
 * Workspace tool reload: latency and memory. Starts a real gateway in this process on a temp
 * workspace, then edits tools/bench.ts N times; after each edit it does what a turn start does
 * (`toolset.refresh()`: a new sandboxed tool host process) and calls the tool to prove the new code runs.
 * Prints reload latency percentiles and the process RSS after warm-up and at the end.
 *
 *   bun bench/tool-reload.ts [--reloads 500] [--payload-kb 50]
 *
 * Exits 1 when RSS grew by 20 MB or more after warm-up (the acceptance bound).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { startGateway } from "../src/gateway/gateway.ts"
import { resolveConfig } from "../src/gateway/load.ts"

const { values } = parseArgs({
  options: { reloads: { type: "string", default: "500" }, "payload-kb": { type: "string", default: "50" } },
})
const reloads = Number(values.reloads)
const payload = Number(values["payload-kb"]) * 1024
const WARMUP = 25
const LIMIT_MB = 20

const dir = mkdtempSync(join(tmpdir(), "drost-bench-reload-"))
mkdirSync(join(dir, "tools"), { recursive: true })
const source = (version: number) => `import { defineTool } from "drost"
// A module that holds some data, so a leak per generation would show.
const blob = ${JSON.stringify("x".repeat(payload))}
export default defineTool({
  name: "bench",
  description: "reload bench tool",
  parameters: { type: "object", properties: {} },
  execute: () => "v${version}:" + blob.length,
})
`
writeFileSync(join(dir, "tools/bench.ts"), source(0))
process.env.DROST_LOG_LEVEL ??= "warn"
const config = resolveConfig(
  { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 } },
  dir,
  null,
)
const gw = await startGateway(config, { lock: false })
const ctx = {
  sessionId: "bench",
  turnId: "t",
  callId: "c",
  workspace: { root: dir, tools: join(dir, "tools"), memory: "", prompts: "" },
  signal: new AbortController().signal,
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10
const latencies: number[] = []
let baseline = 0
for (let i = 1; i <= reloads; i++) {
  writeFileSync(join(dir, "tools/bench.ts"), source(i))
  const started = performance.now()
  await gw.toolset.refresh()
  latencies.push(performance.now() - started)
  const result = await gw.tools.run({ name: "bench", args: {}, context: ctx })
  if (result.output !== `v${i}:${payload}`) throw new Error(`reload ${i} ran stale or broken code: ${result.output}`)
  if (i === WARMUP) {
    Bun.gc(true)
    baseline = process.memoryUsage.rss()
  }
}
// Retired hosts are stopped when their last call finished; give the runtime a moment to free them.
await Bun.sleep(200)
Bun.gc(true)
const end = process.memoryUsage.rss()
const sorted = [...latencies].sort((a, b) => a - b)
const pct = (p: number) =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10
const growth = mb(end - baseline)
console.log(
  `workspace tool reloads: ${reloads} (module payload ${values["payload-kb"]} KB, one tool host process each)`,
)
console.log(`reload latency ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}  max ${pct(100)}`)
console.log(
  `RSS MB: after ${WARMUP} reloads ${mb(baseline)}  after ${reloads} ${mb(end)}  growth ${growth} (limit ${LIMIT_MB})`,
)
await gw.stop("bench done")
rmSync(dir, { recursive: true, force: true })
process.exit(growth < LIMIT_MB ? 0 : 1)
