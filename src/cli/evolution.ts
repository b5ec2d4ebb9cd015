/**
 * `drost evolution log|show|revert` and `drost restart`. The log reads the history file directly, so it
 * works while the gateway is down (the moment you need it most). Revert and restart talk to the running
 * gateway when there is one; otherwise revert runs here, and a revert that needs new code to start
 * takes effect, health-gated, at the next `drost start`.
 */
import { dirname, join, resolve } from "node:path"
import { defineCommand } from "citty"
import { ConfigError, DrostError, message } from "../core/error.ts"
import { createAudit, type EvolutionRecord } from "../evolve/audit.ts"
import { checkTools } from "../evolve/check.ts"
import { CHECK_CONFIG_MARK, type CheckConfigResult } from "../evolve/config-gate.ts"
import { Journal } from "../evolve/journal.ts"
import { createEvolution, type Outcome } from "../evolve/service.ts"
import { load } from "../gateway/load.ts"
import { Log } from "../util/log.ts"
import { Flag } from "../util/flag.ts"
import { integer, workspaceArgs as sharedWorkspaceArgs } from "./args.ts"
import { ask, connect, locate } from "./reach.ts"

const workspaceArgs = {
  ...sharedWorkspaceArgs,
  url: { type: "string", description: "Control API of the running gateway (default: the configured host and port)" },
} as const

const json = { json: { type: "boolean", description: "Print JSON" } } as const

const where = (args: { workspace?: string; config?: string; url?: string }) => ({
  workspace: args.workspace ?? Flag.workspace() ?? process.cwd(),
  config: args.config,
  url: args.url,
})

/**
 * The state folder to read the history from. The log matters most when the config is broken (a
 * change that failed to start, before or while the supervisor rolls it back), so a config that does
 * not load falls back to the default state folder, or the one a pending transaction's journal names.
 */
async function historyDir(args: { workspace?: string; config?: string; url?: string }): Promise<string> {
  const root = resolve(where(args).workspace)
  try {
    return (await load({ root, file: args.config })).stateDir
  } catch (error) {
    const fallback = join(args.config ? dirname(resolve(root, args.config)) : root, ".drost")
    const journal = Journal.read(fallback)
    const dir = journal?.stateDir ?? fallback
    const why = error instanceof ConfigError ? error.lines.join("; ") : message(error)
    process.stderr.write(`drost: the config does not load (${why}); reading the history in ${dir}\n`)
    return dir
  }
}

function when(time: number | null): string {
  return time ? new Date(time).toISOString().replace("T", " ").slice(0, 19) : "-"
}

export function formatRecord(record: EvolutionRecord, verbose: boolean): string {
  const files = record.files.map((file) => `    ${file.status.padEnd(8)} ${file.path} +${file.added} -${file.removed}`)
  const head = `${record.id}  ${when(record.startedAt)}  ${record.status.padEnd(11)} ${record.by.padEnd(5)} ${record.reason}`
  if (!verbose)
    return `${head}${record.restart?.healthyAfterMs !== undefined ? `  (healthy again ${record.restart.healthyAfterMs} ms after the verdict)` : ""}`
  const steps = record.steps.map((step) => {
    const output = step.output.trim()
      ? `\n${step.output
          .trim()
          .split("\n")
          .map((line) => `        ${line}`)
          .join("\n")}`
      : ""
    return `    ${step.ok ? "✓" : "✗"} ${step.name.padEnd(13)} ${String(Math.round(step.durationMs)).padStart(6)} ms${output}`
  })
  return [
    head,
    `  before ${record.before ?? "-"}  after ${record.after ?? "-"}${record.revertOf ? `  (reverts ${record.revertOf})` : ""}`,
    `  verdict: ${record.verdict ?? "(in progress)"}`,
    ...(files.length ? ["  files:", ...files] : []),
    "  steps:",
    ...steps,
  ].join("\n")
}

const log = defineCommand({
  meta: { name: "log", description: "List evolution transactions, newest first (works while the gateway is down)" },
  args: {
    ...workspaceArgs,
    limit: { type: "string", alias: "n", description: "How many (default 20)" },
    verbose: { type: "boolean", alias: "v", description: "Every step with its output, and the files" },
    json: { type: "boolean", description: "JSON records" },
  },
  async run({ args }) {
    const limit = integer(args.limit, "--limit", { min: 1 }) ?? 20
    const records = createAudit(await historyDir(args))
      .list()
      .slice(0, limit)
    if (args.json) process.stdout.write(`${JSON.stringify(records, null, 2)}\n`)
    else if (records.length === 0) process.stdout.write("no evolution transactions yet\n")
    else
      process.stdout.write(
        `${records.map((record) => formatRecord(record, Boolean(args.verbose))).join(args.verbose ? "\n\n" : "\n")}\n`,
      )
  },
})

const show = defineCommand({
  meta: { name: "show", description: "One transaction with every step's output" },
  args: { ...workspaceArgs, id: { type: "positional", required: true, description: "Evolution id (evo_…)" }, ...json },
  async run({ args }) {
    const record = createAudit(await historyDir(args)).get(args.id)
    if (!record) throw new DrostError("NotFound", `unknown evolution "${args.id}"; see drost evolution log`)
    process.stdout.write(args.json ? `${JSON.stringify(record, null, 2)}\n` : `${formatRecord(record, true)}\n`)
  },
})

function report(outcome: Outcome, asJson: boolean) {
  process.stdout.write(asJson ? `${JSON.stringify(outcome, null, 2)}\n` : `${outcome.output}\n`)
  if (!outcome.ok) process.exitCode = 1
}

const revert = defineCommand({
  meta: { name: "revert", description: "Revert an applied transaction as a new transaction (same gates)" },
  args: { ...workspaceArgs, id: { type: "positional", required: true, description: "Evolution id (evo_…)" }, ...json },
  async run({ args }) {
    // Nothing to revert is found out from the history alone, before a gateway is started for it.
    const running = await locate(where(args))
    if (!running && !createAudit(await historyDir(args)).get(args.id))
      throw new DrostError("NotFound", `unknown evolution "${args.id}"; see drost evolution log`)
    const outcome = await ask(
      where(args),
      { mode: "write" },
      // No gateway running: revert here; new code takes effect (health-gated) at the next drost start.
      (gw) =>
        createEvolution({
          config: gw.config,
          bus: gw.bus,
          log: Log.create("evolution"),
          supervised: true,
          requestRestart: () => {},
        }).revert(args.id, "cli"),
      async (api) => (await api(`/evolution/${encodeURIComponent(args.id)}/revert`, { method: "POST" })) as Outcome,
    )
    report(outcome, Boolean(args.json))
  },
})

const checkToolsCommand = defineCommand({
  meta: {
    name: "check-tools",
    description: "(internal) import tool files in this process and check their shape; used by the tools gate",
    hidden: true,
  },
  args: {},
  async run({ rawArgs }) {
    process.exitCode = await checkTools(rawArgs.filter((arg) => !arg.startsWith("-")))
  },
})

const checkConfigCommand = defineCommand({
  meta: {
    name: "check-config",
    description:
      "(internal) load a config file with the real loader and print it as one JSON line; used by the config gate",
    hidden: true,
  },
  args: { file: { type: "positional", required: true, description: "Config file" } },
  async run({ args }) {
    const file = resolve(args.file)
    let result: CheckConfigResult
    try {
      result = { ok: true, config: await load({ root: dirname(file), file }) }
    } catch (error) {
      result = { ok: false, issues: error instanceof ConfigError ? error.lines : [message(error)] }
    }
    process.stdout.write(`\n${CHECK_CONFIG_MARK}${JSON.stringify(result)}\n`)
  },
})

export const evolutionCommand = defineCommand({
  meta: {
    name: "evolution",
    description: "Self-evolution: the audit trail, and reverting a transaction (docs/self-evolution.md)",
  },
  subCommands: { log, show, revert, "check-tools": checkToolsCommand, "check-config": checkConfigCommand },
})

export const restartCommand = defineCommand({
  meta: {
    name: "restart",
    description: "Restart the running gateway (its supervisor starts a fresh process; sessions are kept)",
  },
  args: { ...workspaceArgs, ...json },
  async run({ args }) {
    // Asks the running gateway only: none running is an error (exit 1), never a gateway started to find out.
    const running = await connect(where(args))
    const result = (await running.call("/runtime/restart", { method: "POST", json: {} })) as {
      restarting?: boolean
      config?: { ok: boolean; issues: string[] }
    }
    if (!result.restarting)
      throw new DrostError(
        "Invalid",
        `restart refused: the config does not load:\n${(result.config?.issues ?? []).join("\n")}`,
      )
    const text = "restart requested: running turns finish, then the gateway starts again"
    process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${text}\n`)
  },
})
