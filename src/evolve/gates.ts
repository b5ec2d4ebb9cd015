/**
 * The validation gates of a transaction, cheapest first; the first failure stops the run.
 * 1. parse: every changed TypeScript/JavaScript file through Bun.Transpiler, every changed JSON file.
 * 2. tools: the workspace tools are imported in a separate process (a top-level crash or hang there
 *    cannot hurt the gateway) and their exported shape is checked.
 * 3. commands: the configured commands, each with a time limit; on timeout the whole process group is
 *    killed. A leading "bun" runs this runtime itself (`BUN_BE_BUN=1`), also in the compiled binary.
 */
import { existsSync, readFileSync } from "node:fs"
import { extname, join } from "node:path"
import type { GateCommand } from "../core/evolution-config.ts"
import { scan } from "../tool/loader.ts"
import type { Step } from "./audit.ts"
import { clip } from "./audit.ts"
import { command, self } from "./self.ts"

const TOOLS_TIMEOUT_MS = 30_000
const CODE = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx"])

export interface GateInput {
  workspace: string
  /** Workspace-relative paths the change touched (deleted ones included). */
  changed: string[]
  /** The workspace tools folder, absolute. */
  toolsDir: string
  commands: GateCommand[]
  timeoutMs: number
  /** Called as each gate ends, so the audit shows progress live. */
  onStep?: (step: Step) => void
}

function loaderFor(file: string): "ts" | "tsx" | "js" | "jsx" {
  const ext = extname(file)
  return ext === ".tsx"
    ? "tsx"
    : ext === ".jsx"
      ? "jsx"
      : ext === ".js" || ext === ".mjs" || ext === ".cjs"
        ? "js"
        : "ts"
}

export function parseGate(workspace: string, changed: string[]): { ok: boolean; output: string } {
  const problems: string[] = []
  let checked = 0
  for (const path of changed) {
    const file = join(workspace, path)
    if (!existsSync(file)) continue
    const ext = extname(path)
    if (!CODE.has(ext) && ext !== ".json") continue
    checked++
    const text = readFileSync(file, "utf8")
    try {
      if (ext === ".json") JSON.parse(text)
      else new Bun.Transpiler({ loader: loaderFor(path) }).transformSync(text)
    } catch (error) {
      const inner = error instanceof AggregateError && error.errors.length ? error.errors : [error]
      problems.push(`${path}: ${inner.map((e) => (e instanceof Error ? e.message : String(e))).join("; ")}`)
    }
  }
  return problems.length
    ? { ok: false, output: problems.join("\n") }
    : { ok: true, output: `${checked} file${checked === 1 ? "" : "s"} parsed` }
}

interface Run {
  code: number | null
  output: string
  timedOut: boolean
  durationMs: number
}

/** Run argv in its own process group; on timeout kill the whole group. Output is stdout+stderr, clipped. */
export async function runLimited(
  argv: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs: number },
): Promise<Run> {
  const started = performance.now()
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>
  try {
    proc = Bun.spawn(argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    })
  } catch (error) {
    return { code: null, output: `cannot run ${argv[0]}: ${(error as Error).message}`, timedOut: false, durationMs: 0 }
  }
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    try {
      process.kill(-proc.pid, "SIGKILL")
    } catch {
      proc.kill("SIGKILL")
    }
  }, options.timeoutMs)
  // Read both pipes to the end; a grandchild holding them open is killed with the group.
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  return {
    code,
    output: clip(`${out}${err ? (out ? "\n" : "") + err : ""}`.trim()),
    timedOut,
    durationMs: Math.round(performance.now() - started),
  }
}

/** Import the workspace tools in a separate drost process and check their shape. */
export async function toolsGate(input: GateInput): Promise<{ ok: boolean; output: string } | null> {
  const touched = input.changed.some((path) => join(input.workspace, path).startsWith(`${input.toolsDir}/`))
  if (!touched) return null
  const files = scan(input.toolsDir).files
  if (files.length === 0) return { ok: true, output: "no tool files left" }
  // Its own limit, not the commands': starting a process on a loaded machine can take seconds.
  const run = await runLimited([...self(), "evolution", "check-tools", ...files], {
    cwd: input.workspace,
    timeoutMs: TOOLS_TIMEOUT_MS,
  })
  if (run.timedOut)
    return {
      ok: false,
      output: `importing the tools did not finish in ${TOOLS_TIMEOUT_MS} ms (a tool hangs at import?)\n${run.output}`,
    }
  return { ok: run.code === 0, output: run.output || `exit code ${run.code}` }
}

/** Run every gate in order; stops at the first failure. */
export async function runGates(input: GateInput): Promise<{ ok: boolean; steps: Step[] }> {
  const steps: Step[] = []
  const record = (name: string, ok: boolean, output: string, started: number) => {
    const step = { name, ok, output, durationMs: Math.round(performance.now() - started), at: Date.now() }
    steps.push(step)
    input.onStep?.(step)
    return ok
  }
  let started = performance.now()
  const parsed = parseGate(input.workspace, input.changed)
  if (!record("gate:parse", parsed.ok, parsed.output, started)) return { ok: false, steps }

  started = performance.now()
  const tools = await toolsGate(input)
  if (tools && !record("gate:tools", tools.ok, tools.output, started)) return { ok: false, steps }

  for (const spec of input.commands) {
    started = performance.now()
    const { argv, env } = command(spec)
    const label = typeof spec === "string" ? spec : spec.join(" ")
    const run = await runLimited(argv, { cwd: input.workspace, env, timeoutMs: input.timeoutMs })
    const head = run.timedOut
      ? `$ ${label}\ntimed out after ${input.timeoutMs} ms; the command and its children were killed`
      : `$ ${label}\nexit code ${run.code}`
    if (!record("gate:command", run.code === 0 && !run.timedOut, `${head}\n${run.output}`.trim(), started))
      return { ok: false, steps }
  }
  return { ok: true, steps }
}
