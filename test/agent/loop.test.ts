import { describe, expect, test } from "bun:test"
import type { ChatRequest, Provider, StreamEvent } from "../../src/core/provider.ts"
import { Type } from "../../src/core/schema.ts"
import { type LoopEvent, runLoop } from "../../src/agent/loop.ts"
import type { Part } from "../../src/core/message.ts"
import { createToolRegistry } from "../../src/tool/registry.ts"
import { Log } from "../../src/util/log.ts"

/** A provider that plays one scripted reply per model call and records what it was sent. */
function scripted(
  steps: ((request: ChatRequest, signal: AbortSignal) => AsyncGenerator<StreamEvent>)[],
): Provider & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = []
  return {
    id: "scripted",
    kind: "demo",
    model: "script-1",
    requests,
    stream(request, signal) {
      requests.push(structuredClone(request))
      const step = steps[requests.length - 1]
      if (!step) throw new Error(`no scripted reply for call ${requests.length}`)
      return step(request, signal)
    },
  }
}

const done = (stop: "stop" | "tool_calls" = "stop"): StreamEvent => ({ type: "done", stop })
async function* say(text: string): AsyncGenerator<StreamEvent> {
  yield { type: "text", delta: text }
  yield { type: "usage", usage: { input: 10, output: 2, cached: 0 } }
  yield done()
}
function call(...calls: { name: string; args: string }[]) {
  return async function* (): AsyncGenerator<StreamEvent> {
    for (const [index, entry] of calls.entries()) yield { type: "tool-call", id: `call_${index}`, ...entry }
    yield done("tool_calls")
  }
}

function registry(timeoutMs = 1000) {
  const tools = createToolRegistry({ timeoutMs, outputLimit: 200, log: Log.create("test") })
  tools.register({
    name: "math.add",
    source: "builtin",
    description: "add",
    parameters: Type.Object({ a: Type.Number(), b: Type.Number() }, { additionalProperties: false }),
    execute: (args) => String((args as { a: number }).a + (args as { b: number }).b),
  })
  tools.register({
    name: "boom",
    source: "builtin",
    description: "throws",
    parameters: Type.Object({}),
    execute: () => {
      throw new Error("kaput")
    },
  })
  tools.register({
    name: "hang",
    source: "builtin",
    description: "never returns",
    parameters: Type.Object({}),
    execute: () => new Promise(() => {}),
  })
  tools.register({
    name: "big",
    source: "builtin",
    description: "large output",
    parameters: Type.Object({}),
    execute: () => "x".repeat(1000),
  })
  return tools
}

async function run(
  provider: Provider,
  options: { maxSteps?: number; maxToolCalls?: number; signal?: AbortSignal; timeoutMs?: number } = {},
) {
  const persisted: { role: string; parts: Part[] }[] = []
  const events: LoopEvent[] = []
  const outcome = await runLoop({
    provider,
    system: "sys",
    history: [{ role: "user", parts: [{ type: "text", text: "go" }] }],
    tools: registry(options.timeoutMs),
    limits: { maxSteps: options.maxSteps ?? 8, maxToolCalls: options.maxToolCalls ?? 50 },
    signal: options.signal ?? new AbortController().signal,
    sessionId: "ses_test",
    turnId: "turn_test",
    workspace: { root: "/tmp", tools: "/tmp/tools", memory: "/tmp/memory", prompts: "/tmp/prompts" },
    persist: (message) => persisted.push(message),
    emit: (event) => events.push(event),
  })
  return { outcome, persisted, events }
}

const results = (persisted: { role: string; parts: Part[] }[]) =>
  persisted.filter((message) => message.role === "tool").flatMap((message) => message.parts) as Extract<
    Part,
    { type: "tool-result" }
  >[]

describe("agent loop", () => {
  test("several tool calls in one step run and come back in order", async () => {
    const provider = scripted([
      call(
        { name: "math.add", args: '{"a":1,"b":2}' },
        { name: "math.add", args: '{"a":3,' },
        { name: "math.add", args: '{"a":"x","b":1}' },
      ),
      () => say("done"),
    ])
    const { outcome, persisted } = await run(provider)
    expect(outcome).toMatchObject({ status: "completed", text: "done", steps: 2, toolCalls: 3 })
    const [ok, badJson, badArgs] = results(persisted)
    expect(ok).toMatchObject({ callId: "call_0", output: "3", isError: false })
    expect(badJson!.isError).toBe(true)
    expect(badJson!.output).toContain("not valid JSON")
    expect(badArgs!.isError).toBe(true)
    expect(badArgs!.output).toContain("a: expected number")
    // The model saw its own calls and all three results on the second request.
    const second = provider.requests[1]!.messages
    expect(second.at(-1)!.parts.map((part) => (part as { callId: string }).callId)).toEqual([
      "call_0",
      "call_1",
      "call_2",
    ])
  })

  test("a throwing tool, a hanging tool, an unknown tool and huge output all become results", async () => {
    const provider = scripted([
      call(
        { name: "boom", args: "{}" },
        { name: "hang", args: "{}" },
        { name: "nope", args: "{}" },
        { name: "big", args: "" },
      ),
      () => say("ok"),
    ])
    const { outcome, persisted } = await run(provider, { timeoutMs: 100 })
    expect(outcome.status).toBe("completed")
    const [boom, hang, nope, big] = results(persisted)
    expect(boom).toMatchObject({ isError: true, output: "boom failed: kaput" })
    expect(hang).toMatchObject({ isError: true, output: "hang timed out after 100 ms" })
    expect(nope!.output).toContain('unknown tool "nope"')
    expect(big!.isError).toBe(false)
    expect(big!.output.length).toBeLessThan(300)
    expect(big!.output).toContain("output truncated")
  })

  test("the tool-call budget runs what fits and stores only a count of the calls it dropped", async () => {
    const provider = scripted([
      call(
        { name: "math.add", args: '{"a":1,"b":1}' },
        { name: "math.add", args: '{"a":2,"b":2}' },
        { name: "math.add", args: '{"a":3,"b":3}' },
      ),
      () => say("fine"),
    ])
    const { persisted } = await run(provider, { maxToolCalls: 2 })
    expect(results(persisted).map((result) => result.isError)).toEqual([false, false])
    expect(results(persisted)[1]!.output).toContain("1 more tool calls in this step were dropped unrun")
  })

  test("the step limit ends the turn as failed with a reason", async () => {
    const loop = () => call({ name: "math.add", args: '{"a":1,"b":1}' })()
    const { outcome } = await run(scripted([loop, loop, loop]), { maxSteps: 3 })
    expect(outcome).toMatchObject({ status: "failed", steps: 3 })
    expect(outcome.reason).toContain("step limit of 3")
  })

  test("a provider error mid-stream fails the turn and keeps the partial text", async () => {
    const provider = scripted([
      async function* () {
        yield { type: "text", delta: "partial " }
        yield { type: "error", kind: "unavailable", message: "connection reset" }
      },
    ])
    const { outcome, persisted } = await run(provider)
    expect(outcome.status).toBe("failed")
    expect(outcome.reason).toContain("connection reset")
    expect(persisted).toEqual([
      { role: "assistant", parts: [{ type: "text", text: "partial " }], usage: { input: 0, output: 0, cached: 0 } },
    ] as never)
  })

  test("a provider that throws or ends without a final event does not escape", async () => {
    const throwing = scripted([
      async function* () {
        yield { type: "text", delta: "a" }
        throw new Error("adapter bug")
      },
    ])
    expect((await run(throwing)).outcome).toMatchObject({ status: "failed" })
    const silent = scripted([
      async function* () {
        yield { type: "text", delta: "a" }
      },
    ])
    const { outcome } = await run(silent)
    expect(outcome.status).toBe("failed")
    expect(outcome.reason).toContain("without a final event")
  })

  test("abort during a step ends the turn as aborted", async () => {
    const controller = new AbortController()
    const provider = scripted([
      async function* (_request, signal) {
        yield { type: "text", delta: "working" }
        controller.abort("stop it")
        await Bun.sleep(1)
        if (signal.aborted) yield { type: "error", kind: "aborted", message: "aborted" }
      },
    ])
    const { outcome } = await run(provider, { signal: controller.signal })
    expect(outcome).toMatchObject({ status: "aborted", reason: "stop it" })
  })
})
