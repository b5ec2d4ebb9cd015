/**
 * Issue 16 item 5: POST /v1/responses, driven by the official `openai` client's `responses.create`
 * and `responses.stream` against a live gateway whose provider is a fake OpenAI server: text, streamed
 * and not; `previous_response_id` continuing in that response's session; function tools whose calls end
 * the response with `function_call` items and whose `function_call_output` resumes the turn. On
 * 0641e9e the route did not exist (404).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { type InProcess, inProcess } from "./inprocess.ts"

let llm: FakeOpenAI
let gw: InProcess
let client: OpenAI

const weather: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
}

beforeAll(async () => {
  llm = await fakeOpenAI({ key: null })
  gw = await inProcess({
    providers: { profiles: [{ id: "gpt", kind: "openai-compatible", baseUrl: llm.baseUrl, model: "gpt-test" }] },
    controlApi: { port: 0, openaiCompatible: true },
  })
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await llm?.close()
})
beforeEach(() => {
  llm.hits.length = 0
})

type Wire = { role: string; content: unknown; tool_call_id?: string }
const history = (n: number) => llm.requests("chat")[n]!.body.messages as Wire[]

describe("POST /v1/responses", () => {
  test("responses.create answers; previous_response_id continues in the same session", async () => {
    llm.queue(reply().text("Hello, Ada."), reply().text("You are Ada."))
    const first = await client.responses.create({ model: "drost", input: "I am Ada. Say hello." })
    expect(first.object).toBe("response")
    expect(first.status).toBe("completed")
    expect(first.output_text).toBe("Hello, Ada.")
    expect(first.id).toMatch(/^resp_/)
    expect(first.usage?.total_tokens).toBeGreaterThan(0)

    const second = await client.responses.create({
      model: "drost",
      previous_response_id: first.id,
      input: [{ role: "user", content: [{ type: "input_text", text: "Who am I?" }] }],
    })
    expect(second.output_text).toBe("You are Ada.")
    expect(second.previous_response_id).toBe(first.id)
    // The second call's history holds the first exchange: the same session.
    const texts = history(1).map((message) => `${message.role}:${JSON.stringify(message.content)}`)
    expect(texts.some((line) => line.includes("I am Ada"))).toBe(true)
    expect(texts.some((line) => line.includes("Hello, Ada."))).toBe(true)
  })

  test("responses.stream: created first, text deltas, finalResponse", async () => {
    llm.queue(reply().text("Streaming works fine."))
    const stream = client.responses.stream({ model: "drost", input: "stream please" })
    const types: string[] = []
    let deltas = ""
    stream.on("event", (event) => {
      types.push(event.type)
    })
    stream.on("response.output_text.delta", (event) => {
      deltas += event.delta
    })
    const final = await stream.finalResponse()
    expect(types[0]).toBe("response.created")
    expect(types.at(-1)).toBe("response.completed")
    expect(deltas).toBe("Streaming works fine.")
    expect(final.output_text).toBe("Streaming works fine.")
  })

  test("function tools with responses.create: function_call out, function_call_output in", async () => {
    llm.queue(reply().tool("get_weather", { city: "Paris" }, "call_r1"), reply().text("Paris: sunny."))
    const first = await client.responses.create({ model: "drost", input: "weather in Paris?", tools: [weather] })
    const call = first.output.find((item) => item.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall
    expect(call).toMatchObject({ type: "function_call", call_id: "call_r1", name: "get_weather" })
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" })
    expect(
      (llm.requests("chat")[0]!.body.tools as { function: { name: string } }[]).map((t) => t.function.name),
    ).toContain("get_weather")

    const second = await client.responses.create({
      model: "drost",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: "call_r1", output: "sunny, 25 °C" }],
      tools: [weather],
    })
    expect(second.output_text).toBe("Paris: sunny.")
    expect(history(1).at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_r1", content: "sunny, 25 °C" })
  })

  test("function tools with responses.stream", async () => {
    llm.queue(reply().text("Checking.").tool("get_weather", { city: "Oslo" }, "call_r2"), reply().text("Oslo: snow."))
    const first = await client.responses
      .stream({ model: "drost", input: "weather in Oslo?", tools: [weather] })
      .finalResponse()
    const call = first.output.find((item) => item.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall
    expect(call.call_id).toBe("call_r2")
    expect(JSON.parse(call.arguments)).toEqual({ city: "Oslo" })
    expect(first.output_text).toBe("Checking.")

    const second = await client.responses
      .stream({
        model: "drost",
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: "call_r2", output: "snow" }],
        tools: [weather],
      })
      .finalResponse()
    expect(second.output_text).toBe("Oslo: snow.")
  })

  test("an unknown previous_response_id is a 404; a non-function tool a 400", async () => {
    const missing = await client.responses
      .create({ model: "drost", previous_response_id: "resp_turn_nope", input: "hi" })
      .catch((error) => error)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect(missing.param).toBe("previous_response_id")
    const search = await client.responses
      .create({ model: "drost", input: "hi", tools: [{ type: "web_search" }] })
      .catch((error) => error)
    expect(search).toBeInstanceOf(OpenAI.BadRequestError)
    expect(search.param).toBe("tools.0.type")
  })
})
