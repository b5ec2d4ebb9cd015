/**
 * Cost per session and budgets (issue 21 item 3), through the gateway: turns over HTTP against the
 * fake OpenAI server with `prices` set, then the session's cost in GET /sessions/{id}, /usage and
 * /status; a turn over `budgets.perSession` / `perDay` ends failed with the reason and makes no model
 * call; with `action: "approve"` it waits for a person (GET/POST /approvals) and runs or is refused;
 * over the fake Telegram Bot API the person reads the reason. Fails on 0641e9e (no budgets key).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { ApprovalEvent } from "../../src/approval/events.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { fakeOpenAI, type FakeOpenAI, reply } from "../fake/openai.ts"
import { type InProcess, inProcess } from "../api/inprocess.ts"
import { OWNER, telegramConfig, texts, waitEvent } from "../channels/helpers.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { workspace } from "../lib/workspace.ts"

// USD per million tokens: 1,000 makes each token cost $0.001.
const PRICES = { input: 1000, output: 1000 }

let llm: FakeOpenAI
beforeAll(async () => {
  process.env.DROST_TEST_BUDGET_KEY = "test-key"
  llm = await fakeOpenAI()
})
afterAll(async () => {
  await llm?.close()
  delete process.env.DROST_TEST_BUDGET_KEY
})

/** The one provider, "main": the fake at PRICES, keyed from DROST_TEST_BUDGET_KEY. */
const priced = () => ({
  profiles: [
    {
      id: "main",
      kind: "openai",
      api: "chat",
      model: "gpt-test",
      baseUrl: llm.baseUrl,
      apiKeyEnv: "DROST_TEST_BUDGET_KEY",
      prices: PRICES,
    },
  ],
  defaultSessionProvider: "main",
})

/** A workspace config with that provider and these budgets, Control API on a free loopback port. */
const pricedConfig = (budgets: Record<string, unknown>) => ({ providers: priced(), controlApi: { port: 0 }, budgets })

function gateway(budgets: Record<string, unknown>) {
  return inProcess({ providers: priced(), budgets })
}

async function json<T>(api: InProcess, path: string, body?: unknown): Promise<T> {
  const res = await api.fetch(`/control/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as T
}
const session = async (api: InProcess) => (await json<{ id: string }>(api, "/sessions", {})).id
type Result = { status: string; reason: string | null; text: string; turnId: string }
const turn = (api: InProcess, id: string, input: string) => json<Result>(api, `/sessions/${id}/turn`, { input })
const command = async (api: InProcess, sessionId: string, text: string) =>
  (await json<{ text: string }>(api, "/commands", { sessionId, line: text })).text

describe("budgets", () => {
  test("perSession: the turn after the limit is refused with the reason and no model call; cost is shown", async () => {
    await using api = await gateway({ perSession: 0.05 })
    const id = await session(api)
    llm.queue(reply().text("first").usage({ input: 40, output: 10 }))
    expect((await turn(api, id, "hello")).status).toBe("completed")

    // The session view: $0.05 at the prices, per provider and per turn.
    const view = await json<{
      cost: { currency: string; total: number; providers: unknown[]; turns: unknown[] }
    }>(api, `/sessions/${id}`)
    expect(view.cost.currency).toBe("USD")
    expect(view.cost.total).toBeCloseTo(0.05, 9)
    expect(view.cost.providers).toEqual([{ provider: "main", input: 40, output: 10, cached: 0, cost: 0.05 }])
    expect(view.cost.turns).toEqual([expect.objectContaining({ total: 0.05 })])
    expect(await command(api, id, "/status")).toContain("cost $0.0500")
    const usage = await command(api, id, "/usage")
    expect(usage).toContain(`session ${id}: $0.0500 of $0.0500`)
    expect(usage).toContain("main")
    expect(usage).toContain("over a budget a turn is refused")

    const calls = llm.hits.length
    const refused = await turn(api, id, "and again")
    expect(refused.status).toBe("failed")
    expect(refused.reason).toBe(
      "budget exceeded: this session has spent $0.0500 of $0.0500 (budgets.perSession). Raise the limit in the config to go on.",
    )
    expect(llm.hits.length).toBe(calls)
    // Another session has its own budget.
    llm.queue(reply().text("other").usage({ input: 1, output: 1 }))
    expect((await turn(api, await session(api), "hi")).status).toBe("completed")
  })

  test("perDay: all sessions together; the refusal names the day's spending", async () => {
    await using api = await gateway({ perDay: 0.03, perMonth: 100 })
    llm.queue(reply().text("one").usage({ input: 20, output: 10 }))
    expect((await turn(api, await session(api), "hello")).status).toBe("completed")
    const refused = await turn(api, await session(api), "hello from another session")
    expect(refused.reason).toContain("budget exceeded: today's spending is $0.0300 of $0.0300 (budgets.perDay)")
    expect(await command(api, await session(api), "/usage")).toContain("today: $0.0300 of $0.0300")
  })

  test('action "approve": an over-budget turn waits for a person; approved it runs, denied it fails', async () => {
    await using api = await gateway({ perSession: 0.001, action: "approve" })
    const id = await session(api)
    llm.queue(reply().text("first").usage({ input: 5, output: 5 }))
    expect((await turn(api, id, "hello")).status).toBe("completed")

    const asked = api.gw.bus.once(ApprovalEvent.Requested)
    llm.queue(reply().text("approved answer").usage({ input: 1, output: 1 }))
    const approved = turn(api, id, "over budget, please")
    const pending = (await asked).data
    expect([pending.tool, pending.sessionId]).toEqual(["budget", id])
    const listed = await json<{ approvals: { id: string }[] }>(api, `/approvals?session=${id}`)
    expect(listed.approvals.map((each) => each.id)).toEqual([pending.id])
    // The wait shows in the metrics too (GET /metrics: drost_approvals_waiting).
    const metrics = await (await api.fetch("/metrics")).text()
    expect(metrics.split("\n")).toContain("drost_approvals_waiting 1")
    await json(api, `/approvals/${pending.id}`, { decision: "approve" })
    expect(await approved).toEqual(expect.objectContaining({ status: "completed", text: "approved answer" }))

    const again = api.gw.bus.once(ApprovalEvent.Requested)
    const denied = turn(api, id, "more")
    await json(api, `/approvals/${(await again).data.id}`, { decision: "deny", reason: "enough" })
    const result = await denied
    expect(result.status).toBe("failed")
    expect(result.reason).toContain("budget exceeded: this session has spent $0.0120 of $0.0010 (budgets.perSession)")
    expect(result.reason).toContain("not approved: denied by a person (the Control API): enough")
  })

  test("perDay counts what was spent before a restart (read at first need, not at start)", async () => {
    await using ws = await workspace({
      config: pricedConfig({ perDay: 0.05 }),
    })
    const env = { DROST_TEST_BUDGET_KEY: "test-key" }
    const run = async (gw: Awaited<ReturnType<typeof spawnGateway>>, input: string) => {
      const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
      return (await (await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })).json()) as Result
    }
    {
      await using gw = await spawnGateway(ws.path, { env })
      llm.queue(reply().text("first").usage({ input: 40, output: 10 }))
      expect((await run(gw, "hello")).status).toBe("completed")
      expect(await gw.stop()).toBe(0)
    }
    await using gw = await spawnGateway(ws.path, { env })
    const calls = llm.requests("chat").length
    const refused = await run(gw, "a new session, the same day")
    expect(refused.status).toBe("failed")
    expect(refused.reason).toContain("today's spending is $0.0500 of $0.0500 (budgets.perDay)")
    expect(llm.requests("chat").length).toBe(calls)
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("Telegram: the person reads why the turn was refused", async () => {
    const fake = await FakeTelegram.start()
    await using ws = await workspace({
      config: telegramConfig(fake, {}, { prices: PRICES }, { budgets: { perSession: 0.000001 } }),
    })
    await using gw = await spawnGateway(ws.path)
    fake.text(OWNER, "hello")
    await fake.waitFor(() => texts(fake, OWNER).find((text) => text.includes("You said")), 10_000, "first answer")
    await waitEvent(ws, "session.turn.completed")
    fake.text(OWNER, "and again")
    const refusal = await fake.waitFor(
      () => texts(fake, OWNER).find((text) => text.includes("budget exceeded")),
      10_000,
      "the refusal",
    )
    expect(refusal).toMatch(
      /^⚠️ Not answered: budget exceeded: this session has spent \$0\.\d{4} of \$0\.0000010 \(budgets\.perSession\)/,
    )
    await waitEvent(ws, "session.turn.failed", (data) => String(data.reason).startsWith("budget exceeded"))
    // /usage in the chat: the session's cost against its limit.
    fake.text(OWNER, "/usage")
    const usage = await fake.waitFor(
      () => texts(fake, OWNER).find((text) => text.includes("over a budget a turn is refused")),
      10_000,
      "the /usage answer",
    )
    expect(usage).toMatch(/session ses_\w+: \$0\.\d{4} of \$0\.0000010/)
    expect(await gw.stop()).toBe(0)
    fake.stop()
  }, 30_000)
})

const skip = postgresSkip()
if (skip) test.skip(`budgets on PostgreSQL (skipped: ${skip})`, () => {})
else
  describe("budgets on PostgreSQL", () => {
    const pg = postgresPerFile()
    test("two gateways on one store: the second reads the first's spending (session cost, perDay)", async () => {
      const url = await pg.server.database()
      const config = pricedConfig({ perDay: 0.05 })
      const env = { DROST_TEST_BUDGET_KEY: "test-key", DROST_STORE_URL: url }
      await using first = await workspace({ config })
      await using second = await workspace({ config })
      const open = async (gw: Awaited<ReturnType<typeof spawnGateway>>) =>
        ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
      const run = async (gw: Awaited<ReturnType<typeof spawnGateway>>, id: string, input: string) =>
        (await (await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })).json()) as Result
      await using a = await spawnGateway(first.path, { env })
      const spent = await open(a)
      llm.queue(reply().text("first").usage({ input: 40, output: 10 }))
      expect((await run(a, spent, "hello")).status).toBe("completed")
      // Another gateway on the same database (another workspace): the day's spending is the store's.
      await using b = await spawnGateway(second.path, { env })
      const view = (await (await b.api(`/sessions/${spent}`)).json()) as { cost: { total: number } }
      expect(view.cost.total).toBeCloseTo(0.05, 9)
      const calls = llm.requests("chat").length
      const refused = await run(b, await open(b), "a new session, the same day")
      expect(refused.status).toBe("failed")
      expect(refused.reason).toContain("today's spending is $0.0500 of $0.0500 (budgets.perDay)")
      expect(llm.requests("chat").length).toBe(calls)
    }, 40_000)
  })
