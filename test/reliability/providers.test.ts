/**
 * Provider faults from the outside audit (issue 14), through a spawned gateway and the fault-injecting
 * fakes: a trickling provider against the model-call and turn deadlines (item 3), a single 429, 5xx or
 * reset retried on the same provider (13), 10,000-call steps (7), a key with no recognisable shape
 * echoed in a 401 (8). The in-process checks (HTML answers, local overload) are in
 * test/providers/resilience.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { findSecrets } from "./chaos.ts"

/** No `sk-`, no `Bearer`, nothing the shape-based redaction knows. */
const UNSHAPED = "Qv7.unshaped.credential.4JmW2x"
const TURN_MS = 4_000

let llm: FakeOpenAI
let leaky: FakeOpenAI
let ws: Workspace
let gw: RunningGateway

const chat = (id: string, baseUrl: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind: "openai",
  api: "chat",
  model: "gpt-test",
  baseUrl,
  apiKeyEnv: "FAKE_KEY",
  ...extra,
})

beforeAll(async () => {
  llm = await fakeOpenAI()
  leaky = await fakeOpenAI({ key: UNSHAPED })
  ws = await workspace({
    config: {
      providers: {
        defaultSessionProvider: "main",
        profiles: [
          chat("main", llm.baseUrl),
          chat("trickle", llm.baseUrl, { timeoutMs: 700 }),
          chat("leaky", leaky.baseUrl, { apiKeyEnv: "LEAKY_KEY" }),
        ],
        // One provider, as by default: no fallbacks.
        failover: { retry: { baseMs: 100, maxDelayMs: 2_000 } },
      },
      agent: { turnTimeoutMs: TURN_MS, maxToolCalls: 5 },
      controlApi: { port: 0 },
    },
  })
  gw = await spawnGateway(ws.path, { env: { FAKE_KEY: "test-key", LEAKY_KEY: UNSHAPED } })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await llm?.close()
  await leaky?.close()
  await ws?.[Symbol.asyncDispose]()
})

async function session(provider = "main"): Promise<string> {
  const res = await gw.api("/sessions", { method: "POST", json: { provider } })
  return ((await res.json()) as { id: string }).id
}

type TurnAnswer = { status: string; text: string; reason: string | null; turnId: string }

async function turn(id: string, input: string): Promise<{ result: TurnAnswer; raw: string; ms: number }> {
  const started = performance.now()
  const res = await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })
  const raw = await res.text()
  return { result: JSON.parse(raw) as TurnAnswer, raw, ms: performance.now() - started }
}

/** The bus events of one turn, replayed from the gateway's event stream (read until `until` shows up). */
async function turnEvents(sessionId: string, turnId: string) {
  const stop = new AbortController()
  const res = await gw.api(`/events?since=0&session=${sessionId}`, { signal: stop.signal })
  const out: { event: string; data: Record<string, unknown> }[] = []
  for await (const event of readSse(res)) {
    // Each frame is the whole envelope: { id, type, time, data }.
    const data = (event.data as { data?: Record<string, unknown> } | null)?.data
    if (data?.turnId !== turnId) continue
    out.push({ event: event.event, data })
    if (/^session\.turn\.(completed|failed|interrupted)$/.test(event.event)) break
  }
  stop.abort()
  return out
}

describe("deadlines (item 3): a trickling provider never holds a turn open", () => {
  test("the model call's total deadline ends a call that trickles one token at a time", async () => {
    llm.queue(reply().text("x".repeat(400)).chunk(1).delay(40))
    const id = await session("trickle")
    const { result, ms } = await turn(id, "trickle")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("total timeout")
    expect(result.reason).toContain("within 700 ms")
    expect(ms).toBeLessThan(TURN_MS)
  })

  test("the turn deadline ends the turn, names itself, and frees the session's lane", async () => {
    // Each call trickles well inside its own deadlines (default 10 min total); only the turn's cap ends it.
    llm.queue(reply().text("y".repeat(2_000)).chunk(1).delay(20))
    const id = await session()
    const { result, ms } = await turn(id, "trickle forever")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("turn deadline")
    expect(result.reason).toContain("agent.turnTimeoutMs")
    expect(ms).toBeLessThan(TURN_MS + 3_000)
    // The lane is free: the next turn of the same session runs.
    llm.queue(reply().text("next one"))
    expect((await turn(id, "again")).result).toMatchObject({ status: "completed", text: "next one" })
  })
})

describe("retries on the same provider (item 13)", () => {
  test("a single 429 honours Retry-After and the turn completes; every attempt is an event", async () => {
    llm.queue(reply().status(429, { retryAfter: 0.3 }), reply().text("after the 429"))
    const id = await session()
    const before = llm.hits.length
    const { result } = await turn(id, "rate limited once")
    expect(result).toMatchObject({ status: "completed", text: "after the 429" })
    const [first, second] = llm.hits.slice(before)
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(290)
    const events = await turnEvents(id, result.turnId)
    expect(events.filter((row) => row.event === "provider.attempt").map((row) => row.data.attempt)).toEqual([1, 2])
    const failed = events.find((row) => row.event === "provider.attempt.failed")!
    expect(failed.data).toMatchObject({ provider: "main", kind: "rate_limit", status: 429, retryInMs: 300 })
  })

  test("a 5xx, then a reset after partial text: retried, the void text discarded and stored once", async () => {
    llm.queue(reply().status(503), reply().text("half an ans").reset(), reply().text("the whole answer"))
    const id = await session()
    const { result } = await turn(id, "flaky")
    expect(result).toMatchObject({ status: "completed", text: "the whole answer" })
    const events = await turnEvents(id, result.turnId)
    expect(events.filter((row) => row.event === "provider.attempt")).toHaveLength(3)
    expect(events.find((row) => row.event === "session.turn.discard")?.data.chars).toBe("half an ans".length)
    const stored = JSON.stringify(await (await gw.api(`/sessions/${id}`)).json())
    expect(stored).not.toContain("half an ans")
  })

  test("bounded: a provider that keeps failing fails the turn after the configured tries", async () => {
    llm.queue(reply().status(500), reply().status(500), reply().status(500), reply().text("not reached"))
    const id = await session()
    const { result } = await turn(id, "down")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("HTTP 500")
    expect(result.reason).toContain("3 tries")
    // 1 + 2 retries (the default): the fourth reply was never asked for.
    expect(llm.pending()).toBe(1)
    llm.next()
  })

  test("a Retry-After beyond the cap is not waited for", async () => {
    llm.queue(reply().status(429, { retryAfter: 120 }), reply().text("not this"))
    const id = await session()
    const { result, ms } = await turn(id, "come back in two minutes")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("HTTP 429")
    expect(ms).toBeLessThan(2_000)
    llm.next()
  })
})

describe("a step with thousands of tool calls (item 7)", () => {
  test("only what ran is stored, with a count of what was dropped", async () => {
    const many = reply()
    for (let i = 0; i < 2_000; i++) many.tool("no.such_tool", {}, `call_${i}`)
    llm.queue(many, reply().text("done"))
    const id = await session()
    const { result } = await turn(id, "call everything")
    expect(result).toMatchObject({ status: "completed", text: "done" })
    const stored = JSON.stringify(await (await gw.api(`/sessions/${id}?limit=100`)).json())
    expect(stored.split('"tool-call"').length - 1).toBe(5)
    expect(stored.split('"tool-result"').length - 1).toBe(5)
    expect(stored).toContain("1995 more tool calls in this step were dropped unrun")
    expect(stored.length).toBeLessThan(20_000)
  })
})

describe("secrets echoed back (item 8)", () => {
  test("a key with no recognisable shape, echoed in a 401, is redacted everywhere", async () => {
    leaky.queue(reply().status(401, { message: `Incorrect API key provided: ${UNSHAPED}. Check it.` }))
    const id = await session("leaky")
    const { result, raw } = await turn(id, "hi")
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("Incorrect API key provided: [REDACTED]")
    const answers = [raw, await (await gw.api(`/sessions/${id}`)).text()]
    for (const event of await turnEvents(id, result.turnId)) answers.push(JSON.stringify(event))
    expect(answers.filter((text) => text.includes(UNSHAPED))).toEqual([])
    expect(answers.join("\n")).toContain("provider.error")
    // The JSONL logs on disk (flushed every 200 ms): the error is there, redacted.
    const logs = join(ws.path, ".drost", "logs")
    const written = async () =>
      readdirSync(logs)
        .filter((name) => name.startsWith("events"))
        .map((name) => readFileSync(join(logs, name), "utf8"))
        .join("\n")
    for (let i = 0; i < 40 && !(await written()).includes("Incorrect API key provided"); i++) await Bun.sleep(50)
    expect(await written()).toContain("Incorrect API key provided: [REDACTED]")
    expect(findSecrets(ws.path, [UNSHAPED])).toEqual([])
  })
})
