/**
 * OpenTelemetry traces (issue 21 item 2, optional part): a turn against the fake OpenAI server with a
 * tool call and a failover, and a loopback OTLP/HTTP receiver that records what the gateway sends to
 * /v1/traces. One trace: the turn's root span, a client span per model call (the failed attempt on
 * "main" with an error status, the answers), and a span for the tool call, all children of the root.
 * Fails on 0641e9e (no telemetry key).
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { fakeOpenAI, type FakeOpenAI, reply } from "../fake/openai.ts"
import { type InProcess, inProcess } from "../api/inprocess.ts"

interface Span {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes: { key: string; value: Record<string, unknown> }[]
  status: { code: number; message?: string }
}
interface Export {
  resourceSpans: {
    resource: { attributes: { key: string; value: Record<string, unknown> }[] }
    scopeSpans: { scope: { name: string }; spans: Span[] }[]
  }[]
}

let llm: FakeOpenAI
let api: InProcess
let receiver: ReturnType<typeof Bun.serve>
const received: { path: string; type: string | null; body: Export }[] = []
let arrived: (() => void) | null = null

beforeAll(async () => {
  process.env.DROST_TEST_TRACES_KEY = "test-key"
  receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push({
        path: new URL(request.url).pathname,
        type: request.headers.get("content-type"),
        body: (await request.json()) as Export,
      })
      arrived?.()
      return Response.json({ partialSuccess: {} })
    },
  })
  llm = await fakeOpenAI()
  const profile = (id: string) => ({
    id,
    kind: "openai",
    api: "chat",
    model: "gpt-test",
    baseUrl: llm.baseUrl,
    apiKeyEnv: "DROST_TEST_TRACES_KEY",
  })
  api = await inProcess({
    providers: {
      profiles: [profile("main"), profile("spare")],
      defaultSessionProvider: "main",
      failover: { fallbacks: ["spare"], retry: { attempts: 0 } },
    },
    telemetry: { otlpEndpoint: `http://127.0.0.1:${receiver.port}/`, serviceName: "drost-test" },
  })
  await Bun.write(api.ws.file("notes.txt"), "hello\n")
}, 30_000)

afterAll(async () => {
  await api?.[Symbol.asyncDispose]()
  await llm?.close()
  await receiver?.stop(true)
  delete process.env.DROST_TEST_TRACES_KEY
})

test("a turn is one trace: root span, model calls (a failed attempt, the failover) and the tool call", async () => {
  const exported = new Promise<void>((resolve) => (arrived = resolve))
  const created = await api.fetch("/control/v1/sessions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  })
  const { id } = (await created.json()) as { id: string }
  llm.queue(
    reply().tool("file.read", { path: "notes.txt" }).usage({ input: 30, output: 4 }),
    reply().status(500),
    reply().text("done").usage({ input: 40, output: 2 }),
  )
  const res = await api.fetch(`/control/v1/sessions/${id}/turn`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: "read notes.txt" }),
  })
  const result = (await res.json()) as { status: string; turnId: string }
  expect(result.status).toBe("completed")
  await exported

  expect(received.length).toBe(1)
  const { path, type, body } = received[0]!
  expect([path, type]).toEqual(["/v1/traces", "application/json"])
  const resource = body.resourceSpans[0]!
  expect(resource.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "drost-test" } })
  const spans = resource.scopeSpans[0]!.spans
  const attr = (span: Span, key: string) => span.attributes.find((each) => each.key === key)?.value
  const root = spans.find((span) => span.name === "turn")!
  expect(attr(root, "drost.turn")).toEqual({ stringValue: result.turnId })
  expect(root.parentSpanId).toBeUndefined()
  expect(root.status.code).toBe(1)
  // Every span is in the turn's trace, a child of the root, and ends after it starts.
  for (const span of spans) {
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(span.traceId).toBe(root.traceId)
    if (span !== root) expect(span.parentSpanId).toBe(root.spanId)
    expect(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano)).toBe(true)
  }
  expect(new Set(spans.map((span) => span.spanId)).size).toBe(spans.length)

  const models = spans.filter((span) => span.kind === 3)
  expect(models.map((span) => [span.name, span.status.code])).toEqual([
    ["model main", 1],
    ["model main", 2],
    ["model spare", 1],
  ])
  expect(models[1]!.status.message).toContain("server")
  expect(attr(models[0]!, "gen_ai.usage.input_tokens")).toEqual({ intValue: "30" })
  expect(attr(models[2]!, "drost.step")).toEqual({ intValue: "2" })
  const tools = spans.filter((span) => span.name.startsWith("tool "))
  expect(tools.map((span) => [span.name, span.status.code])).toEqual([["tool file.read", 1]])
  expect(spans.length).toBe(5)
})
