/**
 * Issue 16 item 2: the parameters of /v1/chat/completions reach the provider in its own wire format
 * (Chat Completions, Responses, Anthropic Messages), `n > 1` is refused with a clear error, fields that
 * cannot be honoured or are unknown are refused with `param` naming them, and the documented no-effect
 * fields are accepted. Driven by the official `openai` client against a live gateway whose providers are
 * fake OpenAI and Anthropic servers on 127.0.0.1. On 0641e9e every parameter was dropped unsent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { type FakeAnthropic, fakeAnthropic } from "../fake/anthropic.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

let oa: FakeOpenAI
let an: FakeAnthropic
let ws: Workspace
let gw: RunningGateway
let client: OpenAI

beforeAll(async () => {
  oa = await fakeOpenAI()
  an = await fakeAnthropic()
  ws = await workspace({
    config: {
      providers: {
        profiles: [
          { id: "gpt", kind: "openai-compatible", model: "gpt-test", baseUrl: oa.baseUrl, apiKeyEnv: "FAKE_KEY" },
          { id: "resp", kind: "openai", model: "gpt-test", baseUrl: oa.baseUrl, apiKeyEnv: "FAKE_KEY" },
          { id: "claude", kind: "anthropic", model: "claude-test", baseUrl: an.baseUrl, apiKeyEnv: "FAKE_KEY" },
          { id: "demo", kind: "demo" },
        ],
      },
      controlApi: { port: 0, openaiCompatible: true },
    },
  })
  gw = await spawnGateway(ws.path, { env: { FAKE_KEY: "test-key" } })
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
  await oa?.close()
  await an?.close()
  await ws?.[Symbol.asyncDispose]()
})
beforeEach(() => {
  oa.hits.length = 0
  an.hits.length = 0
})

const ask = (extra: Record<string, unknown>, model = "gpt") =>
  client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "give me JSON" }],
    ...extra,
  } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)

const schema = {
  type: "object",
  properties: { answer: { type: "string" } },
  required: ["answer"],
  additionalProperties: false,
}

describe("parameters reach the provider", () => {
  test("Chat Completions: max_tokens, temperature, top_p, stop, response_format json_schema", async () => {
    oa.queue(reply().text('{"answer":"yes"}'))
    const answer = await ask({
      max_tokens: 77,
      temperature: 0.3,
      top_p: 0.9,
      stop: "END",
      response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: true } },
      seed: 7,
      frequency_penalty: 0.5,
    })
    expect(answer.choices[0]!.message.content).toBe('{"answer":"yes"}')
    const body = oa.requests("chat")[0]!.body
    expect(body).toMatchObject({
      max_completion_tokens: 77,
      temperature: 0.3,
      top_p: 0.9,
      stop: ["END"],
      response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: true } },
    })
    // Accepted without effect, as documented: not sent on.
    expect(body.seed).toBeUndefined()
    expect(body.frequency_penalty).toBeUndefined()
  })

  test("max_completion_tokens wins over max_tokens; json_object mode", async () => {
    oa.queue(reply().text("{}"))
    await ask({ max_tokens: 10, max_completion_tokens: 20, response_format: { type: "json_object" } })
    expect(oa.requests("chat")[0]!.body).toMatchObject({
      max_completion_tokens: 20,
      response_format: { type: "json_object" },
    })
  })

  test("Responses-API provider: max_output_tokens, temperature, top_p, text.format", async () => {
    oa.queue(reply().text('{"answer":"no"}'))
    await ask(
      {
        max_completion_tokens: 33,
        temperature: 1.1,
        top_p: 0.5,
        response_format: { type: "json_schema", json_schema: { name: "verdict", schema } },
      },
      "resp",
    )
    expect(oa.requests("responses")[0]!.body).toMatchObject({
      max_output_tokens: 33,
      temperature: 1.1,
      top_p: 0.5,
      text: { format: { type: "json_schema", name: "verdict", schema } },
    })
  })

  test("Anthropic provider: max_tokens, temperature, top_p, stop_sequences", async () => {
    an.queue(reply().text("fine"))
    await ask({ max_tokens: 55, temperature: 0.2, top_p: 0.8, stop: ["STOP", "HALT"] }, "claude")
    expect(an.hits.at(-1)!.body).toMatchObject({
      max_tokens: 55,
      temperature: 0.2,
      top_p: 0.8,
      stop_sequences: ["STOP", "HALT"],
    })
  })
})

describe("parameters that cannot be honoured are refused, naming the field", () => {
  const refused = async (extra: Record<string, unknown>, model = "gpt") => {
    const error = await ask(extra, model).catch((caught) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    return error as InstanceType<typeof OpenAI.BadRequestError>
  }

  test("n > 1", async () => {
    const error = await refused({ n: 2 })
    expect(error.param).toBe("n")
    expect(error.code).toBe("unsupported_value")
    expect(error.message).toContain("n must be 1")
    oa.queue(reply().text("one"))
    expect((await ask({ n: 1 })).choices).toHaveLength(1)
  })

  test("out of range, unknown, unsupported, and JSON mode on a provider without it", async () => {
    expect((await refused({ temperature: 3 })).param).toBe("temperature")
    expect((await refused({ top_p: -1 })).param).toBe("top_p")
    expect((await refused({ max_tokens: 0 })).param).toBe("max_tokens")
    expect((await refused({ stop: ["a", "b", "c", "d", "e"] })).param).toBe("stop")
    const unknown = await refused({ frobnicate: true })
    expect(unknown.code).toBe("unknown_parameter")
    expect(unknown.param).toBe("frobnicate")
    expect((await refused({ logprobs: true })).code).toBe("unsupported_parameter")
    expect((await refused({ modalities: ["text", "audio"] })).param).toBe("modalities")
    const json = await refused({ response_format: { type: "json_object" } }, "claude")
    expect(json.param).toBe("response_format")
    expect(json.message).toContain("anthropic")
    expect((await refused({ response_format: { type: "json_object" } }, "demo")).code).toBe("unsupported_parameter")
    // Nothing reached a provider.
    expect(oa.hits.length + an.hits.length).toBe(0)
  })
})
