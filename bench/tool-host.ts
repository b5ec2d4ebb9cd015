/**
 * The sandboxed tool host: what a call into a warm host costs, and what a reload costs (a new host
 * process in the OS sandbox importing the tool). Starts a real gateway in this process on a temp
 * workspace; calls go through the registry as a model's would (`gw.tools.run`: validation, timeout,
 * the JSON line over the pipe, the tool, the answer back); a reload is what a turn start does after an
 * edit (`toolset.refresh()`), and each reload is checked by a call that must see the new code.
 *
 *   bun bench/tool-host.ts [--calls 2000] [--reloads 100] [--sandbox auto|off]
 *
 * Targets (issue 13): call p50 ≤ 2 ms, reload p50 ≤ 50 ms. Exits 1 when a p50 misses its target.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { startGateway } from "../src/gateway/gateway.ts"
import { resolveConfig } from "../src/gateway/load.ts"
import { finishMachine, machine, ms, report, round, summarize } from "./lib.ts"

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    reloads: { type: "string", default: "100" },
    sandbox: { type: "string", default: "auto" },
  },
})
const calls = Number(values.calls)
const reloads = Number(values.reloads)
const CALL_TARGET = 2
const RELOAD_TARGET = 50
const info = machine()

const dir = mkdtempSync(join(tmpdir(), "drost-bench-host-"))
mkdirSync(join(dir, "tools"), { recursive: true })
const source = (version: number) => `import { defineTool } from "drost"
export default defineTool({
  name: "bench",
  description: "tool host bench",
  parameters: { type: "object", properties: { text: { type: "string" } } },
  execute: ({ text }) => "v${version}:" + (text ?? ""),
})
`
writeFileSync(join(dir, "tools/bench.ts"), source(0))
process.env.DROST_LOG_LEVEL ??= "warn"
const config = resolveConfig(
  {
    providers: { profiles: [{ id: "demo", kind: "demo" }] },
    controlApi: { port: 0 },
    sandbox: values.sandbox as "auto" | "off",
  },
  dir,
  null,
)
const gw = await startGateway(config, { lock: false })
const status = await gw.toolset.confine.check()
if (!gw.tools.get("bench")) throw new Error(`the bench tool did not load: ${JSON.stringify(gw.tools.rejected())}`)
const context = {
  sessionId: "bench",
  turnId: "t",
  callId: "c",
  workspace: { root: dir, tools: join(dir, "tools"), memory: "", prompts: "" },
  signal: new AbortController().signal,
}
const run = (text: string) => gw.tools.run({ name: "bench", args: { text }, context })

// Warm calls: the host is running; each call is one JSON line there and one back.
for (let i = 0; i < 100; i++) await run("warm")
const callTimes: number[] = []
for (let i = 0; i < calls; i++) {
  const started = performance.now()
  const result = await run(String(i))
  callTimes.push(performance.now() - started)
  if (result.output !== `v0:${i}`) throw new Error(`call ${i} answered ${result.output}`)
}

// Reloads: edit, refresh (a new sandboxed host imports the file), then prove the new code answers.
const reloadTimes: number[] = []
for (let i = 1; i <= reloads; i++) {
  writeFileSync(join(dir, "tools/bench.ts"), source(i))
  const started = performance.now()
  await gw.toolset.refresh()
  reloadTimes.push(performance.now() - started)
  const result = await run("r")
  if (result.output !== `v${i}:r`) throw new Error(`reload ${i} ran stale or broken code: ${result.output}`)
}
await gw.stop("bench done")
rmSync(dir, { recursive: true, force: true })

const call = summarize(callTimes)
const reload = summarize(reloadTimes)
report(
  `tool host (${status.kind ?? "none"}): ${calls} calls into a warm host, ${reloads} reloads`,
  [
    ["call p50 / p99", `${ms(call.p50)} / ${ms(call.p99)}`, `target p50 ≤ ${CALL_TARGET} ms`],
    ["reload p50 / p99", `${ms(reload.p50)} / ${ms(reload.p99)}`, `target p50 ≤ ${RELOAD_TARGET} ms`],
  ],
  {
    bench: "tool-host",
    sandbox: status.kind,
    calls: call.n,
    callP50: round(call.p50),
    callP99: round(call.p99),
    reloads: reload.n,
    reloadP50: round(reload.p50, 2),
    reloadP99: round(reload.p99, 2),
    machine: finishMachine(info),
  },
)
process.exit(call.p50 <= CALL_TARGET && reload.p50 <= RELOAD_TARGET ? 0 : 1)
