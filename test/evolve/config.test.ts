/**
 * Config changes through evolution (issue 13, finding 12), through the real supervisor (`drost start`):
 *
 * - the config gate loads the new config with the real loader and schema: a schema-invalid value, an
 *   unknown default provider, a moved workspace and weakened gates are rolled back before any restart;
 * - a change that passes the gates but whose start fails (a TypeScript config that evaluates differently
 *   inside the gates' sandbox than in the gateway) is rolled back by the supervisor, also when the
 *   supervisor itself cannot load it, and also when the gateway comes up healthy on another workspace;
 *   the audit says "rolled back" with the start's error, and the rollback works with the empty
 *   `prompts/` and `tools/` of a fresh workspace (it crashed with EISDIR there);
 * - `drost evolution log` works while the config does not load.
 * Each ends with the gateway healthy on the old config and the log showing the transaction.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, runCli, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { freePort } from "./lib.ts"

interface Entry {
  id: string
  status: string
  verdict: string | null
  steps: { name: string; ok: boolean; output: string }[]
  restart: { healthyAfterMs?: number } | null
}
interface Outcome {
  id: string
  ok: boolean
  status: string
  output: string
  record: Entry
}

async function evolve(gw: RunningGateway, reason: string, changes: unknown[]): Promise<Outcome> {
  const response = await gw.api("/evolution", { method: "POST", json: { reason, changes } })
  expect(response.status).toBe(200)
  return (await response.json()) as Outcome
}

/** Poll the audit until the transaction has ended and, after a rollback, the gateway is back. */
async function settled(gw: RunningGateway, id: string, ms = 30_000): Promise<Entry> {
  const deadline = Date.now() + ms
  for (;;) {
    const response = await gw.api(`/evolution/${id}`).catch(() => null)
    if (response?.status === 200) {
      const record = (await response.json()) as Entry
      if (record.status === "applied") return record
      if (record.status === "rolled_back" && record.restart?.healthyAfterMs !== undefined) return record
    }
    if (Date.now() > deadline) throw new Error(`evolution ${id} did not settle:\n${gw.output().slice(-4000)}`)
    await Bun.sleep(50) // the transaction spans a restart of another process: no stream to follow
  }
}

async function loggedAs(ws: Workspace, reason: string, status: string) {
  const log = await runCli(["evolution", "log"], { cwd: ws.path })
  expect(log.code).toBe(0)
  expect(log.stdout).toMatch(new RegExp(`${status}\\s+api\\s+${reason}`))
}

describe("config changes rejected by the config gate", () => {
  let ws: Workspace
  let gw: RunningGateway
  let original = ""
  const evolution = {
    mutableRoots: ["tools", "prompts", "drost.config.json"],
    validation: { commands: [["bun", "-e", "0"]] },
    healthGate: { timeoutMs: 8000 },
  }
  const config = (port: number) => demoConfig({ controlApi: { port }, evolution })
  let current: ReturnType<typeof config>

  beforeAll(async () => {
    const port = freePort()
    current = config(port)
    ws = await workspace({ config: current })
    original = readFileSync(ws.file("drost.config.json"), "utf8")
    gw = await spawnGateway(ws.path)
  }, 30_000)
  afterAll(async () => {
    await gw?.[Symbol.asyncDispose]()
    await ws?.[Symbol.asyncDispose]()
  })

  async function rejected(reason: string, patch: Record<string, unknown>, expected: string[]) {
    const outcome = await evolve(gw, reason, [
      { path: "drost.config.json", content: JSON.stringify({ ...current, ...patch }, null, 2) },
    ])
    expect(outcome.status).toBe("rolled_back")
    const gate = outcome.record.steps.find((step) => step.name === "gate:config")!
    expect(gate.ok).toBe(false)
    for (const text of expected) expect(gate.output).toContain(text)
    expect(outcome.record.steps.at(-1)).toMatchObject({ name: "rollback", ok: true })
    expect(readFileSync(ws.file("drost.config.json"), "utf8")).toBe(original)
    expect((await gw.api("/healthz")).status).toBe(200)
    await loggedAs(ws, reason, "rolled_back")
  }

  // First, while prompts/ and tools/ are the empty folders the gateway made (the rollback's EISDIR).
  test("a schema-invalid value", async () => {
    await rejected("negative grace", { shutdown: { graceMs: -5 } }, [
      "the new config does not load",
      "shutdown.graceMs",
    ])
  }, 20_000)

  test("an unknown default provider", async () => {
    await rejected("ghost provider", { providers: { ...current.providers, defaultSessionProvider: "ghost" } }, [
      "providers.defaultSessionProvider",
      "ghost",
    ])
  }, 20_000)

  test("a moved workspace", async () => {
    await rejected("elsewhere", { workspaceDir: "elsewhere" }, ["workspaceDir: moves the workspace"])
  }, 20_000)

  test("weakened gates: wider roots, commands dropped, tools everywhere, sandbox off", async () => {
    await rejected(
      "weaken the gates",
      {
        evolution: { ...evolution, mutableRoots: ["."], validation: { commands: [] } },
        tools: { roots: ["/"], profile: "permissive" },
        sandbox: "off",
      },
      [
        "evolution.mutableRoots: widens to .",
        "evolution.validation.commands: drops",
        "tools.roots: widens to /",
        "tools.profile: loosens from balanced to permissive",
        'sandbox: switches the OS sandbox "off"',
      ],
    )
  }, 20_000)

  test("an allowed change passes, restarts into it and passes the health gate", async () => {
    const next = { ...current, supervisor: { backoffMs: 100 } }
    const outcome = await evolve(gw, "faster backoff", [
      { path: "drost.config.json", content: JSON.stringify(next, null, 2) },
    ])
    expect(outcome.status).toBe("restarting")
    expect(outcome.record.steps.find((step) => step.name === "gate:config")?.ok).toBe(true)
    const record = await settled(gw, outcome.id)
    expect(record.status).toBe("applied")
    expect(record.steps.find((step) => step.name === "health")?.ok).toBe(true)
  }, 30_000)
})

/** A TypeScript config that evaluates differently in the gates' sandbox (.drost/ hidden) than outside. */
function tsConfig(port: number, body: string) {
  return `import { existsSync } from "node:fs"
import { join } from "node:path"
// Outside the gates' sandbox the state folder is visible; inside it is hidden.
const outside = existsSync(join(import.meta.dir, ".drost", "control-token"))
// Only the gateway the supervisor runs has this set.
const gateway = process.env.DROST_SUPERVISED === "1"
void outside
void gateway
export default {
  providers: { profiles: [{ id: "demo", kind: "demo" }] },
  controlApi: { port: ${port} },
  evolution: { mutableRoots: ["tools", "prompts", "drost.config.ts"], healthGate: { timeoutMs: 8000 } },
  ${body}
}
`
}

describe("config changes that pass the gates but break the next start: the supervisor rolls back", () => {
  let ws: Workspace
  let gw: RunningGateway
  let port = 0
  let original = ""
  const ids: string[] = []

  beforeAll(async () => {
    port = freePort()
    original = tsConfig(port, "")
    ws = await workspace({ files: { "drost.config.ts": original } })
    gw = await spawnGateway(ws.path)
  }, 30_000)
  afterAll(async () => {
    await gw?.[Symbol.asyncDispose]()
    await ws?.[Symbol.asyncDispose]()
  })

  async function rolledBack(reason: string, body: string, detail: string) {
    const outcome = await evolve(gw, reason, [{ path: "drost.config.ts", content: tsConfig(port, body) }])
    if (outcome.status !== "restarting") throw new Error(outcome.output)
    ids.push(outcome.id)
    const record = await settled(gw, outcome.id)
    expect(record.status).toBe("rolled_back")
    expect(record.verdict).toContain("did not start healthy")
    const health = record.steps.find((step) => step.name === "health")!
    expect(health.ok).toBe(false)
    expect(health.output).toContain(detail)
    expect(record.steps.map((step) => step.name).slice(-3)).toEqual(["health", "rollback", "recovered"])
    expect(record.steps.find((step) => step.name === "rollback")?.ok).toBe(true)
    expect(readFileSync(ws.file("drost.config.ts"), "utf8")).toBe(original)
    expect((await gw.api("/healthz")).status).toBe(200)
    await loggedAs(ws, reason, "rolled_back")
  }

  // First, while prompts/ and tools/ are the empty folders the gateway made (the rollback's EISDIR).
  test("an unknown default provider in the gateway only", async () => {
    await rolledBack(
      "ghost in the gateway",
      'providers: { profiles: [{ id: "demo", kind: "demo" }], defaultSessionProvider: gateway ? "ghost" : "demo" },',
      "providers.defaultSessionProvider",
    )
  }, 30_000)

  test("a schema-invalid value the supervisor cannot load either", async () => {
    await rolledBack("negative grace outside", "shutdown: { graceMs: outside ? -5 : 1000 },", "shutdown.graceMs")
  }, 30_000)

  test("a workspaceDir that lands the gateway, healthy, on an empty workspace", async () => {
    await rolledBack(
      "move the workspace",
      'workspaceDir: outside ? "elsewhere" : ".",',
      "does not run on the state folder",
    )
  }, 30_000)

  test("drost evolution log works while the config does not load", async () => {
    writeFileSync(ws.file("drost.config.ts"), tsConfig(port, "shutdown: { graceMs: -5 },"))
    try {
      const log = await runCli(["evolution", "log"], { cwd: ws.path })
      expect(log.code).toBe(0)
      expect(log.stderr).toContain("the config does not load")
      for (const id of ids) expect(log.stdout).toMatch(new RegExp(`${id}\\s+\\S+ \\S+\\s+rolled_back`))
    } finally {
      writeFileSync(ws.file("drost.config.ts"), original)
    }
  }, 20_000)
})
