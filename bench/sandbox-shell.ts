/**
 * The cost of the OS sandbox on a shell call: the `shell` tool runs `echo hi` through the gateway's
 * registry (policy, validation, the sandbox, output capture), once with `sandbox: "auto"` (bubblewrap
 * here) and once with `sandbox: "off"` (the same code path, unconfined), alternating, so both see the
 * same machine. Also times raw `bwrap … true` against a bare spawn as the floor.
 *
 *   bun bench/sandbox-shell.ts [--calls 200]
 *
 * Target (issue 13): sandboxed shell call p50 ≤ 15 ms.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { startGateway } from "../src/gateway/gateway.ts"
import { resolveConfig } from "../src/gateway/load.ts"
import { machine, ms, report, round, summarize } from "./lib.ts"

const { values } = parseArgs({ options: { calls: { type: "string", default: "200" } } })
const calls = Number(values.calls)
process.env.DROST_LOG_LEVEL ??= "warn"
const info = machine()

async function gateway(mode: "auto" | "off") {
  const dir = mkdtempSync(join(tmpdir(), `drost-bench-sandbox-${mode}-`))
  writeFileSync(join(dir, "README.md"), "bench\n")
  const config = resolveConfig(
    { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 }, sandbox: mode },
    dir,
    null,
  )
  const gw = await startGateway(config, { lock: false })
  const call = async () => {
    const started = performance.now()
    const result = await gw.tools.run({
      name: "shell",
      args: { command: "echo hi" },
      context: {
        sessionId: "bench",
        turnId: "t",
        callId: "c",
        workspace: { root: dir, tools: join(dir, "tools"), memory: "", prompts: "" },
        signal: new AbortController().signal,
      },
    })
    if (result.isError || !result.output.includes("hi")) throw new Error(`shell failed: ${result.output}`)
    return performance.now() - started
  }
  return { gw, dir, call, kind: gw.toolset.confine.status()?.kind ?? null }
}

const confined = await gateway("auto")
const open = await gateway("off")
if (confined.kind !== "bubblewrap" && confined.kind !== "seatbelt")
  throw new Error(`no OS sandbox here (${confined.gw.toolset.confine.status()?.reason}); nothing to measure`)
for (let i = 0; i < 10; i++) {
  await confined.call()
  await open.call()
}
const inside: number[] = []
const outside: number[] = []
for (let i = 0; i < calls; i++) {
  inside.push(await confined.call())
  outside.push(await open.call())
}

// The floor: the sandbox program itself around `true`, and a bare spawn of `true`.
const spawnMs = async (argv: string[]) => {
  const started = performance.now()
  await Bun.spawn(argv, { stdout: "ignore", stderr: "ignore" }).exited
  return performance.now() - started
}
const raw: number[] = []
const bare: number[] = []
const bwrap = confined.gw.toolset.confine.status()?.executable
for (let i = 0; i < Math.min(calls, 100); i++) {
  if (confined.kind === "bubblewrap" && bwrap)
    raw.push(await spawnMs([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"]))
  bare.push(await spawnMs(["true"]))
}

for (const g of [confined, open]) {
  await g.gw.stop("bench done")
  rmSync(g.dir, { recursive: true, force: true })
}
const a = summarize(inside)
const b = summarize(outside)
const r = summarize(raw)
const f = summarize(bare)
report(
  `shell call through the registry, ${calls} calls each (${confined.kind})`,
  [
    ["sandboxed p50 / p99", `${ms(a.p50)} / ${ms(a.p99)}`, "p50 ≤ 15 ms"],
    ["unsandboxed p50 / p99", `${ms(b.p50)} / ${ms(b.p99)}`, ""],
    ["added by the sandbox, p50", ms(a.p50 - b.p50), ""],
    ["raw bwrap … true p50", raw.length ? ms(r.p50) : "n/a", ""],
    ["bare spawn of true p50", ms(f.p50), ""],
  ],
  {
    bench: "sandbox-shell",
    kind: confined.kind,
    calls,
    sandboxedP50: round(a.p50),
    sandboxedP99: round(a.p99),
    unsandboxedP50: round(b.p50),
    unsandboxedP99: round(b.p99),
    rawP50: raw.length ? round(r.p50) : null,
    bareP50: round(f.p50),
    machine: info,
  },
)
