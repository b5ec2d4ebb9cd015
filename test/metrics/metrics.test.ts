/**
 * GET /metrics (issue 21 item 2): real turns against the fake OpenAI server, with a tool call that
 * works, one that fails, a retry and a step that fails over from one profile to the other, then the output is
 * read with a Prometheus text-format parser (parse-prometheus-text-format, prom2json's shape) and the
 * numbers are checked against what happened. The read token may scrape; no token is a 401.
 * Fails on 0641e9e (there is no /metrics route).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import parse, { type Family, type Sample } from "parse-prometheus-text-format"
import { fakeOpenAI, type FakeOpenAI, reply } from "../fake/openai.ts"
import { type InProcess, inProcess } from "../api/inprocess.ts"

const READ = "read-token-metrics-0123456789"
const PRICES = { input: 2, output: 8 } // USD per million tokens

let llm: FakeOpenAI
let api: InProcess

beforeAll(async () => {
  process.env.DROST_TEST_METRICS_KEY = "test-key"
  llm = await fakeOpenAI()
  const profile = (id: string) => ({
    id,
    kind: "openai",
    api: "chat",
    model: "gpt-test",
    baseUrl: llm.baseUrl,
    apiKeyEnv: "DROST_TEST_METRICS_KEY",
    prices: PRICES,
  })
  api = await inProcess({
    providers: {
      profiles: [profile("main"), profile("spare")],
      defaultSessionProvider: "main",
      failover: { fallbacks: ["spare"], retry: { attempts: 1, baseMs: 1 } },
    },
    controlApi: { port: 0, readToken: READ },
  })
  await Bun.write(api.ws.file("notes.txt"), "hello\n")
}, 30_000)

afterAll(async () => {
  await api?.[Symbol.asyncDispose]()
  await llm?.close()
  delete process.env.DROST_TEST_METRICS_KEY
})

async function turn(session: string, input: string) {
  const res = await api.fetch(`/control/v1/sessions/${session}/turn`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input }),
  })
  return (await res.json()) as { status: string; reason: string | null; text: string }
}

interface Scrape {
  res: Response
  families: Map<string, Family>
  /** Per-series `_count` of the histogram `name`, keyed by the series' labels (see `counts`). */
  counts(name: string, labels: Record<string, string>): number
}

async function scrape(token: string | null = READ): Promise<Scrape> {
  const res = await fetch(`${api.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  const text = res.status === 200 ? await res.text() : ""
  // The whole document goes through the parser (it throws on any line that is not the text format).
  const families = new Map(parse(text).map((family) => [family.name, family]))
  return {
    res,
    families,
    // The parser flattens a histogram with labels into one sample (only the last series' buckets
    // survive), so the per-series counts are its `_count` lines, parsed on their own as an untyped family.
    counts(name, labels) {
      const lines = text.split("\n").filter((line) => line.startsWith(`${name}_count{`))
      const series = new Map(parse(`${lines.join("\n")}\n`).map((family) => [family.name, family]))
      return value(series, `${name}_count`, labels)
    },
  }
}

/** The sample of `name` whose labels include `labels` (exactly one must match). */
function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): Sample {
  const family = families.get(name)
  expect([name, family ? "present" : "missing"]).toEqual([name, "present"])
  const found = family!.metrics.filter((each) =>
    Object.entries(labels).every(([key, value]) => each.labels?.[key] === value),
  )
  expect([name, labels, found.length]).toEqual([name, labels, 1])
  return found[0]!
}
const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  Number(sample(families, name, labels).value)

describe("GET /metrics", () => {
  test("401 without a token, 401 with a wrong one", async () => {
    expect((await scrape(null)).res.status).toBe(401)
    expect((await scrape("wrong-token-0123456789abcdef")).res.status).toBe(401)
  })

  test("turns, model calls, tokens, cost, tool calls and a failover, as a Prometheus parser reads them", async () => {
    const created = await api.fetch("/control/v1/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    })
    const { id } = (await created.json()) as { id: string }
    // Turn 1: a tool call that works, one that fails, then the answer (three model calls on "main").
    llm.queue(
      reply().tool("file.read", { path: "notes.txt" }).usage({ input: 100, output: 10 }),
      reply().tool("file.read", { path: "missing.txt" }).usage({ input: 120, output: 10 }),
      reply().text("read it").usage({ input: 140, output: 20 }),
    )
    expect((await turn(id, "read notes.txt")).status).toBe("completed")
    // Turn 2: "main" answers 500, is retried once (failover.retry), answers 500 again, and the step fails
    // over to "spare".
    llm.queue(reply().status(500), reply().status(500), reply().text("from the spare").usage({ input: 50, output: 5 }))
    const second = await turn(id, "again")
    expect([second.status, second.text]).toEqual(["completed", "from the spare"])

    const { res, families, counts } = await scrape()
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(families.get("drost_turns_total")?.type).toBe("COUNTER")
    expect(value(families, "drost_turns_total", { outcome: "completed" })).toBe(2)

    // Tokens per serving profile (input counted without the cached part) and the cost at its prices.
    expect(value(families, "drost_tokens_total", { provider: "main", kind: "input" })).toBe(360)
    expect(value(families, "drost_tokens_total", { provider: "main", kind: "output" })).toBe(40)
    expect(value(families, "drost_tokens_total", { provider: "spare", kind: "output" })).toBe(5)
    expect(value(families, "drost_cost_usd_total", { provider: "main" })).toBeCloseTo((360 * 2 + 40 * 8) / 1e6, 9)
    expect(value(families, "drost_cost_usd_total", { provider: "spare" })).toBeCloseTo((50 * 2 + 5 * 8) / 1e6, 9)

    // Model-call latency per provider: three answered calls on main, two failed, one answered on spare.
    expect(families.get("drost_model_call_duration_seconds")?.type).toBe("HISTOGRAM")
    const count = (labels: Record<string, string>) => counts("drost_model_call_duration_seconds", labels)
    expect(count({ provider: "main", outcome: "ok" })).toBe(3)
    expect(count({ provider: "main", outcome: "failed" })).toBe(2)
    expect(count({ provider: "spare", outcome: "ok" })).toBe(1)
    expect(counts("drost_turn_duration_seconds", { provider: "main", outcome: "completed" })).toBe(2)

    // Attempts, the failed ones, the retry and the failover.
    expect(value(families, "drost_provider_attempts_total", { provider: "main" })).toBe(5)
    expect(value(families, "drost_provider_attempts_total", { provider: "spare" })).toBe(1)
    expect(value(families, "drost_provider_attempt_failures_total", { provider: "main", kind: "server" })).toBe(2)
    expect(value(families, "drost_provider_retries_total", { provider: "main" })).toBe(1)
    expect(value(families, "drost_failovers_total", { from: "main", to: "spare" })).toBe(1)

    // Tool calls by tool and outcome, with their latency.
    expect(value(families, "drost_tool_calls_total", { tool: "file.read", outcome: "ok" })).toBe(1)
    expect(value(families, "drost_tool_calls_total", { tool: "file.read", outcome: "error" })).toBe(1)
    expect(counts("drost_tool_call_duration_seconds", { tool: "file.read", outcome: "error" })).toBe(1)
  })

  test("gauges: queue, running turns, SSE subscribers, approvals, jobs, health, memory, event-loop lag", async () => {
    const controller = new AbortController()
    const stream = await fetch(`${api.url}/control/v1/events`, {
      headers: { authorization: `Bearer ${api.token}` },
      signal: controller.signal,
    })
    expect(stream.status).toBe(200)
    const { families } = await scrape()
    controller.abort()
    // Exactly this stream (the MCP server's closer in the same set is not one).
    expect(value(families, "drost_sse_subscribers")).toBe(1)
    expect(value(families, "drost_queue_depth")).toBe(0)
    expect(value(families, "drost_turns_running")).toBe(0)
    expect(value(families, "drost_approvals_waiting")).toBe(0)
    expect(value(families, "drost_background_jobs")).toBe(0)
    expect(value(families, "drost_gateway_state", { state: api.gw.state().state })).toBe(1)
    expect(value(families, "drost_process_resident_memory_bytes")).toBeGreaterThan(1_000_000)
    expect(value(families, "drost_event_loop_lag_seconds")).toBeGreaterThanOrEqual(0)
    expect(families.get("drost_event_loop_lag_seconds")?.type).toBe("GAUGE")
  })
})
