/**
 * Issue 16 item 1: client tools on /v1/chat/completions. The client's `tools` are offered to the model
 * beside the gateway's; a call to one ends the answer with `finish_reason: "tool_calls"` (streamed and
 * not), and the client's next request with `role: "tool"` messages resumes the same turn, in the same
 * session, while the gateway's own tools keep running inside it. Driven by the three clients named in
 * the issue — the official `openai` package, the AI SDK (`@ai-sdk/openai-compatible`) and LangChain
 * (`@langchain/openai`) — against a live gateway whose provider is a fake OpenAI server on 127.0.0.1.
 * On 0641e9e the tools were dropped: no `tool_calls` came back (AI_ToolChoiceViolationError in the AI SDK,
 * `tool_calls: []` in LangChain).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages"
import { ChatOpenAI } from "@langchain/openai"
import { generateText, stepCountIs, streamText, tool } from "ai"
import OpenAI from "openai"
import { z } from "zod"
import { TurnEvent } from "../../src/agent/events.ts"
import { fakeAnthropic } from "../fake/anthropic.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { type InProcess, inProcess } from "./inprocess.ts"

let llm: FakeOpenAI
let gw: InProcess
let client: OpenAI

const weather: OpenAI.Chat.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}

beforeAll(async () => {
  llm = await fakeOpenAI({ key: null })
  gw = await inProcess({
    providers: { profiles: [{ id: "gpt", kind: "openai-compatible", baseUrl: llm.baseUrl, model: "gpt-test" }] },
    controlApi: { port: 0, openaiCompatible: true },
  })
  await Bun.write(`${gw.ws.path}/notes.txt`, "hello\n")
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await llm?.close()
})
beforeEach(() => {
  llm.hits.length = 0
})

/** The tool names the model was offered in the n-th model call. */
const offered = (n: number): string[] =>
  (llm.requests("chat")[n]!.body.tools as { function: { name: string } }[]).map((each) => each.function.name)

async function sessions(): Promise<number> {
  return ((await (await gw.fetch("/control/v1/sessions?channel=openai&limit=500")).json()) as { total: number }).total
}

describe("client tools through the official openai client", () => {
  test("non-streaming: the call comes back as tool_calls, the tool message resumes the turn", async () => {
    llm.queue(
      reply().text("Let me check.").tool("get_weather", { city: "Paris" }, "call_w1"),
      reply().text("It is sunny in Paris."),
    )
    const before = await sessions()
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "weather in Paris?" }]
    const first = await client.chat.completions.create({ model: "drost", messages, tools: [weather] })
    expect(first.choices[0]!.finish_reason).toBe("tool_calls")
    const calls = first.choices[0]!.message.tool_calls!
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ id: "call_w1", type: "function", function: { name: "get_weather" } })
    expect(JSON.parse((calls[0] as { function: { arguments: string } }).function.arguments)).toEqual({ city: "Paris" })
    expect(first.choices[0]!.message.content).toBe("Let me check.")
    // Offered beside the gateway's own tools, the client's under its own name.
    expect(offered(0)).toContain("get_weather")
    expect(offered(0)).toContain("file_read")

    messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: "call_w1", content: "sunny, 24 °C" })
    const second = await client.chat.completions.create({ model: "drost", messages, tools: [weather] })
    expect(second.choices[0]!.finish_reason).toBe("stop")
    expect(second.choices[0]!.message.content).toBe("It is sunny in Paris.")
    // The model got the client's result as the answer to its call, in the same turn's history.
    const history = llm.requests("chat")[1]!.body.messages as {
      role: string
      tool_call_id?: string
      content: unknown
    }[]
    expect(history.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_w1", content: "sunny, 24 °C" })
    expect(history.filter((message) => message.role === "user")).toHaveLength(1)
    // One session, one turn: the second request continued the first.
    expect(await sessions()).toBe(before + 1)
    expect(second.id.startsWith(first.id)).toBe(true)
  })

  test("streaming: stream().finalChatCompletion() sees the calls; the gateway's own tool ran in between", async () => {
    llm.queue(
      reply().tool("file_read", { path: "notes.txt" }, "call_srv"),
      reply().text("Read it; now the weather.").tool("get_weather", { city: "Oslo" }, "call_w2"),
      reply().text("Oslo: snow."),
    )
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "read notes, then weather" }]
    const stream = client.chat.completions.stream({ model: "drost", messages, tools: [weather], stream: true })
    const first = await stream.finalChatCompletion()
    expect(first.choices[0]!.finish_reason).toBe("tool_calls")
    expect(first.choices[0]!.message.tool_calls!.map((call) => call.id)).toEqual(["call_w2"])
    // The server-side call never reached the client; its result reached the model.
    const second = llm.requests("chat")[1]!.body.messages as { role: string; tool_call_id?: string; content: string }[]
    expect(second.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_srv" })
    expect(second.at(-1)!.content).toContain("hello")

    messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: "call_w2", content: "snow" })
    let text = ""
    let finish: string | null = null
    for await (const chunk of await client.chat.completions.create({
      model: "drost",
      messages,
      tools: [weather],
      stream: true,
    })) {
      text += chunk.choices[0]?.delta.content ?? ""
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(finish).toBe("stop")
    expect(text).toBe("Oslo: snow.")
  })

  test("tool_choice reaches the model on the first step; a named tool must be one of the client's", async () => {
    llm.queue(reply().tool("get_weather", { city: "Rome" }, "call_w3"))
    const answer = await client.chat.completions.create({
      model: "drost",
      messages: [{ role: "user", content: "weather?" }],
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    })
    expect(answer.choices[0]!.finish_reason).toBe("tool_calls")
    expect(llm.requests("chat")[0]!.body.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } })
    const wrong = await client.chat.completions
      .create({
        model: "drost",
        messages: [{ role: "user", content: "weather?" }],
        tools: [weather],
        tool_choice: { type: "function", function: { name: "nope" } },
      })
      .catch((error) => error)
    expect(wrong).toBeInstanceOf(OpenAI.BadRequestError)
    expect(wrong.param).toBe("tool_choice")
  })
})

describe("client tools through the AI SDK and LangChain", () => {
  test("AI SDK generateText: toolChoice required gets the call; with execute the tool runs in the client", async () => {
    const drost = createOpenAICompatible({ name: "drost", baseURL: `${gw.url}/v1`, apiKey: gw.token })
    llm.queue(reply().tool("get_weather", { city: "Lima" }, "call_req"))
    const forced = await generateText({
      model: drost.chatModel("drost"),
      prompt: "weather in Lima?",
      toolChoice: "required",
      tools: {
        get_weather: tool({ description: "The weather in a city", inputSchema: z.object({ city: z.string() }) }),
      },
    })
    expect(forced.finishReason).toBe("tool-calls")
    expect(forced.toolCalls.map((call) => [call.toolName, call.input])).toEqual([["get_weather", { city: "Lima" }]])
    expect(llm.requests("chat")[0]!.body.tool_choice).toBe("required")

    llm.hits.length = 0
    llm.queue(reply().tool("get_weather", { city: "Lima" }, "call_ai"), reply().text("Lima is foggy."))
    const seen: string[] = []
    const result = await generateText({
      model: drost.chatModel("drost"),
      prompt: "weather in Lima?",
      tools: {
        get_weather: tool({
          description: "The weather in a city",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            seen.push(city)
            return `foggy in ${city}`
          },
        }),
      },
      stopWhen: stepCountIs(3),
    })
    expect(seen).toEqual(["Lima"])
    expect(result.steps[0]!.finishReason).toBe("tool-calls")
    expect(result.text).toBe("Lima is foggy.")
    const last = llm.requests("chat")[1]!.body.messages as { role: string; tool_call_id?: string; content: string }[]
    expect(last.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_ai" })
    expect(last.at(-1)!.content).toContain("foggy in Lima")
  })

  test("AI SDK streamText: the streamed call runs in the client, the rest of the turn streams back", async () => {
    llm.queue(reply().text("One moment.").tool("get_weather", { city: "Rome" }, "call_st"), reply().text("Rome: warm."))
    const drost = createOpenAICompatible({ name: "drost", baseURL: `${gw.url}/v1`, apiKey: gw.token })
    const seen: string[] = []
    const result = streamText({
      model: drost.chatModel("drost"),
      prompt: "weather in Rome?",
      tools: {
        get_weather: tool({
          description: "The weather in a city",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            seen.push(city)
            return `warm in ${city}`
          },
        }),
      },
      stopWhen: stepCountIs(3),
    })
    let text = ""
    for await (const part of result.textStream) text += part
    expect(seen).toEqual(["Rome"])
    expect(text).toBe("One moment.Rome: warm.")
    expect((await result.steps).map((step) => step.finishReason)).toEqual(["tool-calls", "stop"])
  })

  test("LangChain bindTools: tool_calls on the AIMessage, a ToolMessage continues", async () => {
    llm.queue(reply().tool("get_weather", { city: "Kyiv" }, "call_lc"), reply().text("Kyiv: clear skies."))
    const model = new ChatOpenAI({
      model: "drost",
      apiKey: gw.token,
      configuration: { baseURL: `${gw.url}/v1` },
      maxRetries: 0,
    }).bindTools([weather])
    const question = new HumanMessage("weather in Kyiv?")
    const first = (await model.invoke([question])) as AIMessage
    expect(first.tool_calls).toHaveLength(1)
    expect(first.tool_calls![0]).toMatchObject({ id: "call_lc", name: "get_weather", args: { city: "Kyiv" } })
    const second = await model.invoke([question, first, new ToolMessage({ tool_call_id: "call_lc", content: "clear" })])
    expect(second.content).toBe("Kyiv: clear skies.")
    const last = llm.requests("chat")[1]!.body.messages as { role: string; tool_call_id?: string; content: string }[]
    expect(last.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_lc", content: "clear" })
  })

  test("LangChain streaming: the tool call chunks assemble into tool_calls", async () => {
    llm.queue(reply().tool("get_weather", { city: "Quito" }, "call_ls"), reply().text("Quito: rain."))
    const model = new ChatOpenAI({
      model: "drost",
      apiKey: gw.token,
      configuration: { baseURL: `${gw.url}/v1` },
      maxRetries: 0,
      streaming: true,
    }).bindTools([weather])
    const question = new HumanMessage("weather in Quito?")
    let first: import("@langchain/core/messages").AIMessageChunk | undefined
    for await (const chunk of await model.stream([question])) first = first ? first.concat(chunk) : chunk
    expect(first!.tool_calls).toHaveLength(1)
    expect(first!.tool_calls![0]).toMatchObject({ id: "call_ls", name: "get_weather", args: { city: "Quito" } })
    let text = ""
    for await (const chunk of await model.stream([
      question,
      new AIMessage({ content: "", tool_calls: first!.tool_calls }),
      new ToolMessage({ tool_call_id: "call_ls", content: "rain" }),
    ]))
      text += typeof chunk.content === "string" ? chunk.content : ""
    expect(text).toBe("Quito: rain.")
  })
})

describe("a paused turn", () => {
  test("gives way when the client sends a new message instead of the results", async () => {
    llm.queue(reply().tool("get_weather", { city: "Bern" }, "call_gone"), reply().text("Fresh answer."))
    const first = await client.chat.completions.create({
      model: "drost",
      user: "carol",
      messages: [{ role: "user", content: "weather?" }],
      tools: [weather],
    })
    expect(first.choices[0]!.finish_reason).toBe("tool_calls")
    const second = await client.chat.completions.create({
      model: "drost",
      user: "carol",
      messages: [{ role: "user", content: "never mind, say hi" }],
    })
    expect(second.choices[0]!.message.content).toBe("Fresh answer.")
    // The abandoned call got a synthetic error result, so the history stayed valid for the provider.
    const history = llm.requests("chat")[1]!.body.messages as { role: string; tool_call_id?: string }[]
    expect(history.some((message) => message.role === "tool" && message.tool_call_id === "call_gone")).toBe(true)
  })
})

describe("a gateway stopping", () => {
  test("ends a turn that waits for client tool results at once, as interrupted", async () => {
    await using fake = await fakeOpenAI({ key: null })
    const own = await inProcess({
      providers: { profiles: [{ id: "gpt", kind: "openai-compatible", baseUrl: fake.baseUrl, model: "gpt-test" }] },
      controlApi: { port: 0, openaiCompatible: true },
      shutdown: { graceMs: 120_000 },
    })
    try {
      fake.queue(reply().tool("get_weather", { city: "Pisa" }, "call_stop"))
      const openai = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: own.token, maxRetries: 0 })
      const first = await openai.chat.completions.create({
        model: "drost",
        messages: [{ role: "user", content: "weather?" }],
        tools: [weather],
      })
      expect(first.choices[0]!.finish_reason).toBe("tool_calls")
      const turnId = first.id.replace(/^chatcmpl-/, "")
      // With a 120 s grace period, a waiting turn that held the drain would outlast the test's timeout.
      await own.gw.drain("test over")
      const turn = (await own.gw.data.sessions.turn(turnId))!
      expect(turn.status).toBe("interrupted")
      expect(turn.error).toContain("waited for the client's tool results")
    } finally {
      await own[Symbol.asyncDispose]()
    }
  }, 20_000)
})

describe("a client that never sends the results", () => {
  test("its turn is aborted after controlApi.openaiToolWaitMs; late results then start a new turn", async () => {
    await using fake = await fakeOpenAI({ key: null })
    await using own = await inProcess({
      providers: { profiles: [{ id: "gpt", kind: "openai-compatible", baseUrl: fake.baseUrl, model: "gpt-test" }] },
      controlApi: { port: 0, openaiCompatible: true, openaiToolWaitMs: 300 },
    })
    fake.queue(reply().tool("get_weather", { city: "Faro" }, "call_late"), reply().text("Faro: windy, it seems."))
    const openai = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: own.token, maxRetries: 0 })
    const failed = new Promise<{ turnId: string; reason: string }>((resolve) => {
      const stop = own.gw.bus.subscribe(TurnEvent.Failed, (event) => {
        stop()
        resolve(event.data)
      })
    })
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "weather in Faro?" }]
    const first = await openai.chat.completions.create({ model: "drost", messages, tools: [weather] })
    expect(first.choices[0]!.finish_reason).toBe("tool_calls")
    const ended = await failed
    expect(first.id).toBe(`chatcmpl-${ended.turnId}`)
    expect(ended.reason).toContain("controlApi.openaiToolWaitMs")

    messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: "call_late", content: "windy" })
    const late = await openai.chat.completions.create({ model: "drost", messages, tools: [weather] })
    expect(late.choices[0]!.message.content).toBe("Faro: windy, it seems.")
    expect(late.id).not.toContain(ended.turnId)
    // The new turn got the late result as text.
    const input = fake.requests("chat")[1]!.body.messages as { role: string; content: unknown }[]
    expect(JSON.stringify(input.findLast((message) => message.role === "user"))).toContain("windy")
  })
})

describe("client tools on an Anthropic provider", () => {
  test("a step calling a gateway tool and a client tool: both results reach the model, in one tool_result turn", async () => {
    process.env.DROST_TEST_ANTHROPIC_KEY = "test-key"
    await using fake = await fakeAnthropic()
    await using own = await inProcess({
      providers: {
        profiles: [
          {
            id: "claude",
            kind: "anthropic",
            baseUrl: fake.baseUrl,
            model: "claude-test",
            apiKeyEnv: "DROST_TEST_ANTHROPIC_KEY",
          },
        ],
      },
      controlApi: { port: 0, openaiCompatible: true },
    })
    await Bun.write(`${own.ws.path}/notes.txt`, "hello\n")
    fake.queue(
      reply().tool("file_read", { path: "notes.txt" }, "toolu_srv").tool("get_weather", { city: "Nice" }, "toolu_cli"),
      reply().text("Notes say hello; Nice is mild."),
    )
    const openai = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: own.token, maxRetries: 0 })
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "notes and weather" }]
    const first = await openai.chat.completions.create({ model: "drost", messages, tools: [weather] })
    expect(first.choices[0]!.message.tool_calls!.map((call) => call.id)).toEqual(["toolu_cli"])
    messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: "toolu_cli", content: "mild" })
    const second = await openai.chat.completions.create({ model: "drost", messages, tools: [weather] })
    expect(second.choices[0]!.message.content).toBe("Notes say hello; Nice is mild.")
    const last = (fake.hits.at(-1)!.body.messages as { role: string; content: unknown }[]).at(-1)!
    const results = (last.content as { type: string; tool_use_id: string; content: unknown }[]).filter(
      (block) => block.type === "tool_result",
    )
    expect(results.map((block) => block.tool_use_id).sort()).toEqual(["toolu_cli", "toolu_srv"])
    expect(JSON.stringify(results)).toContain("hello")
    expect(JSON.stringify(results)).toContain("mild")
  })
})
