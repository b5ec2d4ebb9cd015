// Real turns through the Control API of a spawned gateway against the fake provider servers: one
// scripted conversation with two tool calls per kind, then a mid-conversation switch across all
// three wire formats with tool history, then switch persistence across a restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { fakeAnthropic, type FakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI, type FakeOpenAI } from "../fake/openai.ts"
import { reply } from "../fake/reply.ts"
import { checkAnthropic, checkChat, checkResponses } from "../fake/validate.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

let oa: FakeOpenAI
let an: FakeAnthropic
let ws: Workspace
let gw: RunningGateway
const env = { FAKE_KEY: "test-key" }

const profiles = () => [
  { id: "gpt", kind: "openai", model: "gpt-test", baseUrl: oa.baseUrl, apiKeyEnv: "FAKE_KEY" },
  { id: "claude", kind: "anthropic", model: "claude-test", baseUrl: an.baseUrl, apiKeyEnv: "FAKE_KEY" },
  { id: "local", kind: "openai-compatible", model: "qwen-test", baseUrl: oa.baseUrl, apiKeyEnv: "FAKE_KEY" },
  { id: "grok", kind: "xai", model: "grok-test", baseUrl: oa.baseUrl, apiKeyEnv: "FAKE_KEY" },
]

async function turn(id: string, input: string) {
  const res = await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input } })
  expect(res.status).toBe(200)
  return (await res.json()) as { status: string; text: string; reason: string | null }
}

async function session(provider: string): Promise<string> {
  const res = await gw.api("/sessions", { method: "POST", json: { provider } })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

beforeAll(async () => {
  oa = await fakeOpenAI()
  an = await fakeAnthropic()
  ws = await workspace({
    config: { providers: { profiles: profiles() }, controlApi: { port: 0 } },
    files: { "a.txt": "alpha\n", "b/c.txt": "gamma\n" },
  })
  gw = await spawnGateway(ws.path, { env })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await oa?.close()
  await an?.close()
  await ws?.[Symbol.asyncDispose]()
})

describe("a scripted conversation with two tool calls", () => {
  test.each(["gpt", "claude", "local", "grok"])("completes on %s", async (provider) => {
    const llm = provider === "claude" ? an : oa
    const before = llm.hits.length
    llm.queue(
      reply().text("Reading both.").tool("file_read", { path: "a.txt" }).tool("file_list", { path: "b" }),
      reply().text("a.txt says alpha; b holds c.txt."),
    )
    const id = await session(provider)
    const result = await turn(id, "what is in a.txt and b?")
    expect(result).toMatchObject({ status: "completed", text: "a.txt says alpha; b holds c.txt." })
    const [first, second] = llm.hits.slice(before).map((hit) => JSON.stringify(hit.body))
    expect(first).toContain('"file_read"')
    // Both results went back in the second request, in the shape of the wire format.
    expect(second).toContain("alpha")
    expect(second).toContain("c.txt")
    const stored = (await (await gw.api(`/sessions/${id}`)).json()) as {
      messages: { role: string; provider: string; parts: { type: string; name?: string }[] }[]
    }
    const calls = stored.messages.flatMap((message) =>
      message.parts.filter((part) => part.type === "tool-call").map((part) => part.name),
    )
    expect(calls).toEqual(["file.read", "file.list"]) // stored under Drost's own names
    expect(
      stored.messages
        .filter((message) => message.role === "assistant")
        .every((message) => message.provider === provider),
    ).toBe(true)
  })
})

describe("switching providers mid-conversation", () => {
  test("each wire format receives a complete, valid history including the other providers' tool calls", async () => {
    const id = await session("gpt")
    const plan: [string, FakeOpenAI | FakeAnthropic, string][] = [
      ["gpt", oa, "responses"],
      ["claude", an, "messages"],
      ["local", oa, "chat"],
      ["gpt", oa, "responses"],
    ]
    const sent: { api: string; body: Record<string, unknown> }[] = []
    for (const [index, [provider, llm, api]] of plan.entries()) {
      if (index > 0) {
        const res = await gw.api(`/sessions/${id}`, { method: "PATCH", json: { provider } })
        expect(res.status).toBe(200)
      }
      const before = llm.hits.length
      llm.queue(
        reply().tool(
          index % 2 ? "file_list" : "file_read",
          index % 2 ? { path: "." } : { path: "a.txt" },
          `call_${provider}_${index}`,
        ),
        reply().text(`answer ${index} from ${provider}`),
      )
      const result = await turn(id, `question ${index}`)
      expect(result).toMatchObject({ status: "completed", text: `answer ${index} from ${provider}` })
      for (const hit of llm.hits.slice(before)) sent.push({ api, body: hit.body })
    }
    // Every request was valid for its format (the fakes would have answered 400 otherwise; checked again here).
    for (const { api, body } of sent)
      expect(
        api === "responses" ? checkResponses(body) : api === "messages" ? checkAnthropic(body) : checkChat(body),
      ).toBeNull()
    // The last request carries the whole conversation: 4 questions, 4 tool calls with their results, 3 answers.
    const last = sent.at(-1)!.body as { input: { type?: string; role?: string; call_id?: string }[] }
    expect(last.input.filter((item) => item.type === "function_call").map((item) => item.call_id)).toEqual([
      "call_gpt_0",
      "call_claude_1",
      "call_local_2",
      "call_gpt_3",
    ])
    expect(last.input.filter((item) => item.type === "function_call_output")).toHaveLength(4)
    expect(last.input.filter((item) => item.role === "user")).toHaveLength(4)
    expect(last.input.filter((item) => item.role === "assistant")).toHaveLength(3)
    // Anthropic got the OpenAI tool call as tool_use + tool_result blocks.
    const claude = sent.find((entry) => entry.api === "messages")!.body as {
      messages: { role: string; content: { type: string; id?: string; tool_use_id?: string }[] }[]
    }
    expect(
      claude.messages
        .flatMap((m) => m.content)
        .filter((block) => block.type === "tool_use")
        .map((block) => block.id),
    ).toContain("call_gpt_0")
    expect(
      claude.messages
        .flatMap((m) => m.content)
        .filter((block) => block.type === "tool_result")
        .map((block) => block.tool_use_id),
    ).toContain("call_gpt_0")
    // The compatible (chat) request had assistant tool_calls followed by tool messages.
    const chat = sent.findLast((entry) => entry.api === "chat")!.body as {
      messages: { role: string; tool_call_id?: string }[]
    }
    expect(chat.messages.filter((m) => m.role === "tool").map((m) => m.tool_call_id)).toEqual([
      "call_gpt_0",
      "call_claude_1",
      "call_local_2",
    ])
  })

  test("an unknown provider id is refused with a clear error", async () => {
    const id = await session("gpt")
    const res = await gw.api(`/sessions/${id}`, { method: "PATCH", json: { provider: "nope" } })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { message: string }).message).toContain('unknown provider "nope"')
  })

  test("a queued switch is persisted and applied after a restart", async () => {
    const id = await session("gpt")
    expect((await gw.api(`/sessions/${id}`, { method: "PATCH", json: { provider: "claude" } })).status).toBe(200)
    expect(await gw.stop()).toBe(0)
    gw = await spawnGateway(ws.path, { env })
    const pending = (await (await gw.api(`/sessions/${id}`)).json()) as {
      session: { provider: string; pendingProvider: string | null }
    }
    expect(pending.session).toMatchObject({ provider: "gpt", pendingProvider: "claude" })
    const before = an.requests().length
    an.queue(reply().text("claude here"))
    expect(await turn(id, "who is this?")).toMatchObject({ status: "completed", text: "claude here" })
    expect(an.requests().length).toBe(before + 1)
    const after = (await (await gw.api(`/sessions/${id}`)).json()) as {
      session: { provider: string; pendingProvider: string | null }
    }
    expect(after.session).toMatchObject({ provider: "claude", pendingProvider: null })
  })
})
