/**
 * Self-evolution end to end: a supervised gateway running from the workspace's own copy of the source,
 * driven over POST /control/v1/evolution. Each bad change is injected on its own; for every one the
 * mutable roots end byte-identical to `before`, the gateway is healthy again within 5 s of the verdict,
 * the audit shows every step, and the session created first keeps all its messages. Good changes (a
 * tool, a prompt, a source change) go live.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../lib/config.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { freePort, hashRoots, startSupervised, type Supervised, vendorSource } from "./lib.ts"

const ROOTS = ["tools", "prompts", "src"]
const CHECK = `// The workspace's own check, run by the gates as "bun check.ts".
const prompt = await Bun.file("prompts/system.md").text().catch(() => "")
if (prompt.includes("HANG")) await new Promise(() => setInterval(() => {}, 1000))
if (prompt.includes("FORBIDDEN")) { console.error("check failed: the prompt contains FORBIDDEN"); process.exit(1) }
console.log("check ok")
`
const GREET = `import { defineTool } from "drost"
export default defineTool({
  name: "greet",
  description: "Greets someone",
  parameters: { type: "object", properties: { who: { type: "string" } }, required: ["who"] },
  execute: ({ who }) => \`hello, \${who}\`,
})
`

interface Record {
  id: string
  status: string
  verdict: string | null
  steps: { name: string; ok: boolean; output: string; durationMs: number }[]
  files: { path: string }[]
  restart: { needed: boolean; healthyAfterMs?: number } | null
}
interface Outcome {
  id: string
  ok: boolean
  status: string
  output: string
  record: Record
}

let ws: Workspace
let gw: Supervised
let sessionId = ""
let messageCount = 0
const timings: string[] = []

async function evolve(reason: string, changes: unknown[]): Promise<Outcome> {
  const response = await gw.api("/evolution", { method: "POST", json: { reason, changes } })
  expect(response.status).toBe(200)
  return (await response.json()) as Outcome
}

async function healthyWithin(ms: number): Promise<number> {
  const started = Date.now()
  for (;;) {
    const status = await gw
      .api("/healthz")
      .then((response) => response.status)
      .catch(() => 0)
    if (status === 200) return Date.now() - started
    if (Date.now() - started > ms) throw new Error(`not healthy within ${ms} ms:\n${gw.output().slice(-3000)}`)
    await Bun.sleep(25) // another process restarting: there is no event to wait on
  }
}

/** Poll the audit until the transaction has ended (it spans a restart, so there is no stream to follow). */
async function settled(id: string, ms = 30_000): Promise<Record> {
  const deadline = Date.now() + ms
  for (;;) {
    const response = await gw.api(`/evolution/${id}`).catch(() => null)
    if (response?.status === 200) {
      const record = (await response.json()) as Record
      const done = record.status !== "running" && record.status !== "restarting"
      if (
        done &&
        (record.status !== "rolled_back" || !record.restart?.needed || record.restart.healthyAfterMs !== undefined)
      )
        return record
    }
    if (Date.now() > deadline) throw new Error(`evolution ${id} did not settle:\n${gw.output().slice(-4000)}`)
    await Bun.sleep(50)
  }
}

async function sessionIntact() {
  const body = (await (await gw.api(`/sessions/${sessionId}?limit=100`)).json()) as { messages: unknown[] }
  expect(body.messages.length).toBe(messageCount)
}

/** A bad change rejected by a gate: files restored, gateway never down, audit complete. */
async function rejected(name: string, reason: string, changes: unknown[], gate: string, expectOutput: string) {
  const before = hashRoots(ws.path, ROOTS)
  const outcome = await evolve(reason, changes)
  const verdictAt = Date.now()
  expect(outcome.ok).toBe(false)
  expect(outcome.status).toBe("rolled_back")
  expect(outcome.output).toContain(expectOutput)
  expect(hashRoots(ws.path, ROOTS)).toBe(before)
  await healthyWithin(5000)
  const steps = Math.round(outcome.record.steps.reduce((sum, step) => sum + step.durationMs, 0))
  timings.push(
    `${name}: verdict after ${steps} ms of steps; /healthz 200 ${Date.now() - verdictAt} ms after the verdict (the gateway never went down)`,
  )
  const names = outcome.record.steps.map((step) => step.name)
  expect(names[0]).toBe("checkpoint")
  expect(names).toContain("change")
  expect(names).toContain(gate)
  expect(names.at(-1)).toBe("rollback")
  expect(outcome.record.steps.find((step) => step.name === gate)!.ok).toBe(false)
  await sessionIntact()
}

/** A bad source change: gates pass, the restart fails the health gate, the supervisor rolls back. */
async function rolledBackAfterRestart(name: string, reason: string, changes: unknown[], expectDetail: string) {
  const before = hashRoots(ws.path, ROOTS)
  const outcome = await evolve(reason, changes)
  expect(outcome.ok).toBe(true)
  expect(outcome.status).toBe("restarting")
  const record = await settled(outcome.id)
  expect(record.status).toBe("rolled_back")
  expect(hashRoots(ws.path, ROOTS)).toBe(before)
  const health = record.steps.find((step) => step.name === "health")!
  expect(health.ok).toBe(false)
  expect(health.output).toContain(expectDetail)
  expect(record.restart?.healthyAfterMs).toBeLessThan(5000)
  timings.push(
    `${name}: health gate verdict after ${health.durationMs} ms; healthy again ${record.restart?.healthyAfterMs} ms after the verdict`,
  )
  expect(record.steps.map((step) => step.name)).toEqual([
    "checkpoint",
    "change",
    "gate:parse",
    "gate:command",
    "gate:integrity",
    "commit",
    "health",
    "rollback",
    "recovered",
  ])
  expect((await gw.api("/healthz")).status).toBe(200)
  await sessionIntact()
}

describe("self-evolution, end to end", () => {
  beforeAll(async () => {
    const port = freePort()
    ws = await workspace({
      config: demoConfig({
        controlApi: { port },
        evolution: {
          mutableRoots: ROOTS,
          validation: { commands: ["bun check.ts"], timeoutMs: 1500 },
          healthGate: { timeoutMs: 8000 },
        },
      }),
      files: { "check.ts": CHECK, "prompts/system.md": "You are a careful agent.\n", "tools/.keep": "" },
    })
    vendorSource(ws.path)
    gw = await startSupervised(ws.path, port)
    const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    sessionId = session.id
    const turn = (await (
      await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input: "list files" } })
    ).json()) as { status: string }
    expect(turn.status).toBe("completed")
    messageCount = ((await (await gw.api(`/sessions/${sessionId}?limit=100`)).json()) as { messages: unknown[] })
      .messages.length
    expect(messageCount).toBeGreaterThan(1)
  }, 60_000)

  afterAll(async () => {
    if (timings.length) console.log(`\nhealthy-again timings:\n  ${timings.join("\n  ")}`)
    await gw?.[Symbol.asyncDispose]()
    await ws?.[Symbol.asyncDispose]()
  })

  test("a syntax error in a tool is stopped by the parse gate", async () => {
    await rejected(
      "syntax error in a tool",
      "add a broken tool",
      [{ path: "tools/broken.ts", content: "export default { name: 'broken',,, }\n" }],
      "gate:parse",
      "tools/broken.ts",
    )
  })

  test("a tool that throws at import is stopped by the tool gate (in a separate process)", async () => {
    await rejected(
      "tool throws at import",
      "add a throwing tool",
      [{ path: "tools/boom.ts", content: 'throw new Error("boom at import")\n' }],
      "gate:tools",
      "boom at import",
    )
  })

  test("a change that makes the configured command fail is rolled back with its output", async () => {
    await rejected(
      "test command fails",
      "forbidden prompt",
      [{ path: "prompts/system.md", content: "FORBIDDEN\n" }],
      "gate:command",
      "check failed: the prompt contains FORBIDDEN",
    )
  })

  test("a gate command that hangs is killed at the time limit", async () => {
    await rejected(
      "gate command hangs",
      "hanging prompt",
      [{ path: "prompts/system.md", content: "HANG\n" }],
      "gate:command",
      "timed out after 1500 ms",
    )
  })

  test("a source change that crashes the gateway at start is rolled back by the supervisor", async () => {
    const anchor = "export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {"
    await rolledBackAfterRestart(
      "source change crashes at start",
      "crash at start",
      [
        {
          path: "src/gateway/gateway.ts",
          search: anchor,
          replace: `${anchor}\n  throw new Error("evolved crash at start")`,
        },
      ],
      "exited",
    )
  }, 40_000)

  test("a source change that starts but fails the health gate is rolled back", async () => {
    await rolledBackAfterRestart(
      "starts but unhealthy",
      "unhealthy at start",
      [
        {
          path: "src/gateway/gateway.ts",
          search: "const health = new Map<string, string>()",
          replace: 'const health = new Map<string, string>([["evolved", "deliberately unhealthy"]])',
        },
      ],
      "/healthz answered 503",
    )
  }, 40_000)

  test("good changes go live: a new tool, a prompt edit, a source change (restart + health gate)", async () => {
    const tool = await evolve("add a greeting tool", [{ path: "tools/greet.ts", content: GREET }])
    if (!tool.ok) throw new Error(tool.output)
    expect(tool.status).toBe("applied")
    expect(tool.record.restart?.needed).toBe(false)
    // Workspace tools load at the next turn.
    await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input: "hello" } })
    messageCount = ((await (await gw.api(`/sessions/${sessionId}?limit=100`)).json()) as { messages: unknown[] })
      .messages.length
    const greet = (await (
      await gw.api("/tools/greet/execute", { method: "POST", json: { who: "evolution" } })
    ).json()) as { output: string }
    expect(greet.output).toBe("hello, evolution")

    const prompt = await evolve("sharper prompt", [
      { path: "prompts/system.md", search: "careful", replace: "careful and brief" },
    ])
    expect(prompt.status).toBe("applied")
    expect(readFileSync(join(ws.path, "prompts/system.md"), "utf8")).toBe("You are a careful and brief agent.\n")

    const source = await evolve("new version string", [
      { path: "src/util/version.ts", search: '"0.1.0"', replace: '"0.1.0-evolved"' },
    ])
    expect(source.status).toBe("restarting")
    const record = await settled(source.id)
    expect(record.status).toBe("applied")
    expect(record.steps.find((step) => step.name === "health")?.ok).toBe(true)
    const status = (await (await gw.api("/status")).json()) as { version: string; sessions: number }
    expect(status.version).toBe("0.1.0-evolved")
    await sessionIntact()

    // The audit lists every transaction, newest first, and the JSONL has the events.
    const list = (await (await gw.api("/evolution")).json()) as { items: Record[] }
    expect(list.items.map((item) => item.status)).toEqual([
      "applied",
      "applied",
      "applied",
      "rolled_back",
      "rolled_back",
      "rolled_back",
      "rolled_back",
      "rolled_back",
      "rolled_back",
    ])
    const events = readFileSync(join(ws.path, ".drost/logs/events.jsonl"), "utf8")
    for (const type of [
      "evolution.started",
      "evolution.step",
      "evolution.rolled_back",
      "evolution.restarting",
      "evolution.health",
      "evolution.applied",
    ])
      expect(events).toContain(`"type":"${type}"`)

    // Revert the prompt edit as a new transaction.
    const revert = (await (await gw.api(`/evolution/${prompt.id}/revert`, { method: "POST" })).json()) as Outcome
    expect(revert.status).toBe("applied")
    expect(readFileSync(join(ws.path, "prompts/system.md"), "utf8")).toBe("You are a careful agent.\n")
  }, 40_000)

  test("one transaction at a time: a second one gets a clear busy", async () => {
    const slow = evolve("slow one", [{ path: "prompts/system.md", content: "HANG\n" }])
    await Bun.sleep(300) // let the first reach its gates
    const second = await gw.api("/evolution", {
      method: "POST",
      json: { reason: "second", changes: [{ path: "prompts/x.md", content: "x" }] },
    })
    expect(second.status).toBe(409)
    expect(((await second.json()) as { message: string }).message).toContain("in progress")
    expect((await slow).status).toBe("rolled_back")
  })

  test("boundaries: the state folder, the config file and paths outside the roots are refused", async () => {
    for (const path of [".drost/control-token", "drost.config.json", "check.ts", "../escape.ts"]) {
      const outcome = await evolve("escape", [{ path, content: "x" }])
      expect(outcome.ok).toBe(false)
      expect(outcome.record.steps.find((step) => step.name === "change")?.ok).toBe(false)
    }
    expect(readFileSync(join(ws.path, "check.ts"), "utf8")).toBe(CHECK)
  })
})
