import { describe, expect, test } from "bun:test"
import type { ChatMessage } from "../../src/core/message.ts"
import type { ToolSpec } from "../../src/core/provider.ts"
import { fakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI } from "../fake/openai.ts"
import { reply } from "../fake/reply.ts"
import { build, collect, type Kind } from "./kit.ts"

const KINDS: Kind[] = ["openai", "openai-chat", "anthropic", "openai-compatible", "xai"]
const fake = (kind: Kind) => (kind === "anthropic" ? fakeAnthropic() : fakeOpenAI())
const modelCalls = (llm: Awaited<ReturnType<typeof fake>>) => llm.hits.filter((hit) => !hit.path.endsWith("/models"))

const TOOLS: ToolSpec[] = [
  {
    name: "file.read",
    description: "Read a file",
    parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  },
  {
    name: "file.list",
    description: "List files",
    parameters: { type: "object", properties: { path: { type: "string" } } },
  },
]

describe.each(KINDS)("adapter %s", (kind) => {
  test("streams text and two tool calls whose arguments arrive in fragments; dotted names survive the wire", async () => {
    await using llm = await fake(kind)
    llm.queue(
      reply()
        .text("Let me look at both.")
        .tool("file_read", { path: "notes/a very long file name.txt" }, "call_a")
        .tool("file_list", { path: "." }, "call_b")
        .usage({ input: 120, output: 30, cached: 100 })
        .chunk(3),
    )
    const events = await collect(build(kind, llm.baseUrl), { tools: TOOLS })
    expect(
      events
        .filter((e) => e.type === "text")
        .map((e) => (e as { delta: string }).delta)
        .join(""),
    ).toBe("Let me look at both.")
    const calls = events.filter((e) => e.type === "tool-call")
    expect(calls).toEqual([
      {
        type: "tool-call",
        id: "call_a",
        name: "file.read",
        args: JSON.stringify({ path: "notes/a very long file name.txt" }),
      },
      { type: "tool-call", id: "call_b", name: "file.list", args: JSON.stringify({ path: "." }) },
    ])
    expect(events.find((e) => e.type === "usage")).toEqual({
      type: "usage",
      usage: { input: 120, output: 30, cached: 100 },
    })
    expect(events.at(-1)).toEqual({ type: "done", stop: "tool_calls" })
    const body = modelCalls(llm)[0]!.body
    const wireNames = JSON.stringify(body.tools)
    expect(wireNames).toContain('"file_read"')
    expect(wireNames).not.toContain('"file.read"')
  })

  test("sends images in the user message in the format of its API", async () => {
    await using llm = await fake(kind)
    llm.queue(reply().text("a red dot"))
    const messages: ChatMessage[] = [
      {
        role: "user",
        parts: [
          { type: "text", text: "what is this?" },
          { type: "image", mediaType: "image/png", data: "iVBORw0KGgo=" },
        ],
      },
    ]
    const events = await collect(build(kind, llm.baseUrl), { messages })
    expect(events.at(-1)).toEqual({ type: "done", stop: "stop" })
    const body = JSON.stringify(modelCalls(llm)[0]!.body)
    if (kind === "anthropic")
      expect(body).toContain('"source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}')
    else if (kind === "openai")
      expect(body).toContain('"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="')
    else expect(body).toContain('"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}')
  })

  test("classifies each failure without retrying inside the adapter", async () => {
    await using llm = await fake(kind)
    const provider = build(kind, llm.baseUrl, { connectTimeoutMs: 300, firstTokenTimeoutMs: 300, idleTimeoutMs: 300 })
    const cases: [ReturnType<typeof reply>, string, number | undefined][] = [
      [reply().status(500), "server", 500],
      [reply().status(429, { retryAfter: 7 }), "rate_limit", 429],
      [reply().status(401), "auth", 401],
      [reply().status(400), "invalid", 400],
      [reply().hang(), "timeout", undefined],
      [reply().text("partial ").stall(), "timeout", undefined],
      [reply().text("partial ").reset(), "stream", undefined],
      [reply().text("partial ").malformed(), "stream", undefined],
    ]
    for (const [script, kindWanted, status] of cases) {
      llm.queue(script)
      const before = modelCalls(llm).length
      const started = performance.now()
      const events = await collect(provider)
      const last = events.at(-1)!
      expect({ fault: script.fault?.type, last: last.type, kind: (last as { kind?: string }).kind }).toEqual({
        fault: script.fault?.type,
        last: "error",
        kind: kindWanted,
      })
      if (status) expect((last as { status?: number }).status).toBe(status)
      if (kindWanted === "rate_limit") expect((last as { retryAfterMs?: number }).retryAfterMs).toBe(7000)
      expect(performance.now() - started).toBeLessThan(2000)
      expect(modelCalls(llm).length).toBe(before + 1) // exactly one request: no SDK retries
    }
  })

  test("an aborted signal ends the stream with an aborted error", async () => {
    await using llm = await fake(kind)
    llm.queue(reply().text("never finishes").stall())
    const controller = new AbortController()
    const pending = collect(build(kind, llm.baseUrl), {}, controller.signal)
    await llm.wait(1)
    controller.abort("user pressed stop")
    const events = await pending
    expect(events.at(-1)).toMatchObject({ type: "error", kind: "aborted" })
  })
})
