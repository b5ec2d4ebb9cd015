// The failover matrix through a spawned gateway: each fault on the primary (a separate profile per
// fault, so their cooldowns stay independent), the fallback answers. Partial text of a failed
// primary is discarded (session.turn.discard) and never stored; cooldowns show in GET /providers;
// nothing hangs past the configured deadlines. Retries on the same provider are off here (retry.test.ts
// covers them), so each fault fails over at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fakeAnthropic, type FakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI, type FakeOpenAI } from "../fake/openai.ts"
import { type Reply, reply } from "../fake/reply.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const DEADLINE = { connectTimeoutMs: 400, firstTokenTimeoutMs: 400, idleTimeoutMs: 400 }

const FAULTS: [string, () => Reply, string, boolean][] = [
  ["p500", () => reply().status(500), "server", false],
  ["p429", () => reply().status(429, { retryAfter: 30 }), "rate_limit", false],
  ["p401", () => reply().status(401), "auth", false],
  ["phang", () => reply().hang(), "timeout", false],
  ["pstall", () => reply().text("half an ans").stall(), "timeout", true],
  ["preset", () => reply().text("half an ans").reset(), "stream", true],
  ["pbad", () => reply().text("half an ans").malformed(), "stream", true],
]

let primary: FakeOpenAI
let fallback: FakeAnthropic
let ws: Workspace
let gw: RunningGateway

beforeAll(async () => {
  primary = await fakeOpenAI()
  fallback = await fakeAnthropic()
  const profiles = [
    ...FAULTS.map(([id]) => ({
      id,
      kind: "openai",
      api: "chat",
      model: "gpt-test",
      baseUrl: primary.baseUrl,
      apiKeyEnv: "FAKE_KEY",
      ...DEADLINE,
    })),
    {
      id: "p400",
      kind: "openai",
      api: "chat",
      model: "gpt-test",
      baseUrl: primary.baseUrl,
      apiKeyEnv: "FAKE_KEY",
      ...DEADLINE,
    },
    {
      id: "backup",
      kind: "anthropic",
      model: "claude-test",
      baseUrl: fallback.baseUrl,
      apiKeyEnv: "FAKE_KEY",
      ...DEADLINE,
    },
  ]
  ws = await workspace({
    config: {
      providers: { profiles, failover: { fallbacks: ["backup"], retry: { attempts: 0 } } },
      controlApi: { port: 0 },
    },
  })
  gw = await spawnGateway(ws.path, { env: { FAKE_KEY: "test-key" } })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await primary?.close()
  await fallback?.close()
  await ws?.[Symbol.asyncDispose]()
})

async function runTurn(provider: string, input: string) {
  const created = await gw.api("/sessions", { method: "POST", json: { provider } })
  const { id } = (await created.json()) as { id: string }
  const started = performance.now()
  const res = await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })
  const result = (await res.json()) as { status: string; text: string; reason: string | null; turnId: string }
  return { id, result, ms: performance.now() - started }
}

/** Events the JSONL sink wrote for a turn (the sink flushes every 200 ms). */
async function events(turnId: string, type: string, count = 1) {
  const file = join(ws.path, ".drost", "logs", "events.jsonl")
  for (let i = 0; i < 50; i++) {
    const rows = (() => {
      try {
        return readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { type: string; data: Record<string, unknown> })
      } catch {
        return []
      }
    })().filter((row) => row.type === type && row.data.turnId === turnId)
    if (rows.length >= count) return rows
    await Bun.sleep(50)
  }
  throw new Error(`no ${type} event for ${turnId}`)
}

describe("failover", () => {
  test.each(FAULTS)("primary %s fails → the fallback answers the turn", async (id, fault, kind, partial) => {
    primary.queue(fault())
    fallback.queue(reply().text(`backup answer for ${id}`))
    const { id: sessionId, result, ms } = await runTurn(id, `hello ${id}`)
    expect(result).toMatchObject({ status: "completed", text: `backup answer for ${id}` })
    expect(ms).toBeLessThan(3000)
    const [failed] = await events(result.turnId, "provider.attempt.failed")
    expect(failed!.data).toMatchObject({ provider: id, kind })
    const attempts = await events(result.turnId, "provider.attempt", 2)
    expect(attempts.map((row) => row.data.provider)).toEqual([id, "backup"])
    if (partial) {
      const [discard] = await events(result.turnId, "session.turn.discard")
      expect(discard!.data.chars).toBe("half an ans".length)
    }
    // The void partial text was never stored; the answer is stored once, from the fallback.
    const stored = JSON.stringify(await (await gw.api(`/sessions/${sessionId}`)).json())
    expect(stored).not.toContain("half an ans")
    expect(stored.split(`backup answer for ${id}`).length - 1).toBe(1)
  })

  test("cooldowns are visible per provider and failure class", async () => {
    const res = await gw.api("/providers")
    expect(res.status).toBe(200)
    const { providers } = (await res.json()) as {
      providers: { id: string; cooldown: { kind: string; remainingMs: number } | null; attempts: number }[]
    }
    const byId = new Map(providers.map((entry) => [entry.id, entry]))
    for (const [id, , kind] of FAULTS) expect(byId.get(id)?.cooldown?.kind).toBe(kind)
    expect(byId.get("p429")!.cooldown!.remainingMs).toBeGreaterThan(20_000) // retry-after: 30 honoured
    expect(byId.get("backup")!.cooldown).toBeNull()
  })

  test("a cooling primary is skipped: the next turn goes straight to the fallback", async () => {
    const before = primary.hits.length
    fallback.queue(reply().text("straight to backup"))
    const { result } = await runTurn("p500", "again")
    expect(result).toMatchObject({ status: "completed", text: "straight to backup" })
    expect(primary.hits.length).toBe(before)
  })

  test("a fatal request error (400) does not fail over and ends the turn with the provider's message", async () => {
    primary.queue(reply().status(400, { message: "context_length_exceeded: too long" }))
    const before = fallback.requests().length
    const { result } = await runTurn("p400", "too long")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("context_length_exceeded")
    expect(fallback.requests().length).toBe(before)
  })

  test("when every candidate hangs the turn ends with a clear error within the deadlines", async () => {
    primary.queue(reply().hang())
    fallback.queue(reply().hang())
    const { result, ms } = await runTurn("p400", "anyone?")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("all providers failed")
    expect(result.reason).toContain("timeout")
    expect(ms).toBeLessThan(2 * DEADLINE.connectTimeoutMs + 1500)
  })
})
