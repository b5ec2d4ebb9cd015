/**
 * The validation gates of a transaction, cheapest first; the first failure stops the run.
 * 1. parse: every changed TypeScript/JavaScript file through Bun.Transpiler, every changed JSON file.
 * 2. config: a changed config file loaded with the real schema and checked against the guarded
 *    settings (config-gate.ts, guard.ts).
 * 3. tools: the workspace tools are imported in a separate process (a top-level crash or hang there
 *    cannot hurt the gateway) and their exported shape is checked.
 *    skills: every skill folder under `skills/` the change touched is checked against the Agent Skills
 *    format (skills/skill.ts; nothing runs), so a change cannot leave a skill that is silently skipped.
 * 4. commands: the configured commands, each with a time limit; on timeout the whole process tree is
 *    killed. A leading "bun" runs this runtime itself (`BUN_BE_BUN=1`), also in the compiled binary.
 * Every gate that runs code (2 for a TypeScript config, 3, 4) runs in the gates' sandbox (confine.ts):
 * the workspace read-only, `.drost/` and `.env` hidden, no secret in the environment, no network.
 */
import { existsSync, readFileSync } from "node:fs"
import { extname, join } from "node:path"
import type { GateCommand } from "../core/evolution-config.ts"
import { scan } from "../tool/loader.ts"
import { parseSkill } from "../skills/skill.ts"
import type { Step } from "./audit.ts"
import { clip } from "./audit.ts"
import type { Confined } from "./confine.ts"
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
  /** The gates' sandbox (confine.ts): every gate that runs code runs there. */
  confined: Confined
  /** The config gate (config-gate.ts), when the change touches the config file. */
  configGate?: () => Promise<{ ok: boolean; output: string } | null>
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

/** Import the workspace tools in a separate, sandboxed drost process and check their shape. */
export async function toolsGate(input: GateInput): Promise<{ ok: boolean; output: string } | null> {
  const touched = input.changed.some((path) => join(input.workspace, path).startsWith(`${input.toolsDir}/`))
  if (!touched) return null
  const files = scan(input.toolsDir).files
  if (files.length === 0) return { ok: true, output: "no tool files left" }
  // Its own limit, not the commands': starting a process on a loaded machine can take seconds.
  const run = await input.confined.run([...self(), "evolution", "check-tools", ...files], {
    timeoutMs: TOOLS_TIMEOUT_MS,
  })
  const output = clip(run.output.trim())
  if (run.killed)
    return {
      ok: false,
      output: `importing the tools did not finish in ${TOOLS_TIMEOUT_MS} ms (a tool hangs at import?)\n${output}`,
    }
  return { ok: run.code === 0, output: output || `exit code ${run.code}` }
}

/** Check each skill folder (skills/<name>) the change touched and that still exists; null when none was. */
export function skillsGate(workspace: string, changed: string[]): { ok: boolean; output: string } | null {
  const names = [
    ...new Set(
      changed
        .map((path) => path.split(/[\\/]/))
        .filter((parts) => parts[0] === "skills" && parts.length > 2)
        .map((parts) => parts[1]!),
    ),
  ]
  if (names.length === 0) return null
  const problems: string[] = []
  let checked = 0
  for (const name of names) {
    const root = join(workspace, "skills", name)
    if (!existsSync(root)) continue
    checked++
    const parsed = parseSkill(root)
    if (!parsed.ok) problems.push(`skills/${name}: ${parsed.rejection.reasons.join("; ")}`)
  }
  return problems.length
    ? { ok: false, output: problems.join("\n") }
    : { ok: true, output: `${checked} skill${checked === 1 ? "" : "s"} checked` }
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
  const skills = skillsGate(input.workspace, input.changed)
  if (skills && !record("gate:skills", skills.ok, skills.output, started)) return { ok: false, steps }

  const warning = await input.confined.warning()
  const warn = (output: string) => (warning ? `${warning}\n${output}` : output)

  started = performance.now()
  const config = await input.configGate?.()
  if (config && !record("gate:config", config.ok, warn(config.output), started)) return { ok: false, steps }

  started = performance.now()
  const tools = await toolsGate(input)
  if (tools && !record("gate:tools", tools.ok, warn(tools.output), started)) return { ok: false, steps }

  for (const spec of input.commands) {
    started = performance.now()
    const { argv, env } = command(spec)
    const label = typeof spec === "string" ? spec : spec.join(" ")
    const run = await input.confined.run(argv, { env, timeoutMs: input.timeoutMs })
    const head = run.killed
      ? `$ ${label}\ntimed out after ${input.timeoutMs} ms; the command and its children were killed`
      : `$ ${label}\nexit code ${run.code}`
    const output = warn(`${head}\n${clip(run.output.trim())}`.trim())
    if (!record("gate:command", run.code === 0 && !run.killed, output, started)) return { ok: false, steps }
  }
  return { ok: true, steps }
}
