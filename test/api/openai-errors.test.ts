/**
 * Issue 16 item 4: every status of `/v1` answers in OpenAI's error shape, read by the official
 * `openai` client as `error.code` / `error.param` / `error.type` (before, the Control API's
 * `{"error":"Invalid",…}` reached the clients as `400 "Invalid"`). Also GET /v1/models/{id} (item 5).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { connect } from "node:net"
import OpenAI from "openai"
import { type InProcess, inProcess } from "./inprocess.ts"

const READ = "read-token-0123456789abcdef"
let gw: InProcess
let client: OpenAI

beforeAll(async () => {
  gw = await inProcess({ controlApi: { port: 0, openaiCompatible: true, readToken: READ, maxBodyBytes: 16_384 } })
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
})
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]()
})

type Shaped = { error: { message: string; type: string; param: string | null; code: string | null } }

function expectShape(body: unknown): Shaped["error"] {
  const error = (body as Shaped).error
  expect(typeof error).toBe("object")
  expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"])
  expect(typeof error.message).toBe("string")
  expect(error.message.length).toBeGreaterThan(5)
  return error
}

describe("OpenAI-compatible errors", () => {
  test("401: a wrong key is an AuthenticationError with code invalid_api_key", async () => {
    const anonymous = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "not-a-token", maxRetries: 0 })
    const error = await anonymous.chat.completions
      .create({ model: "drost", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(error.code).toBe("invalid_api_key")
    expect(error.type).toBe("authentication_error")
    expect(error.message).toContain("bearer token")
    const raw = await fetch(`${gw.url}/v1/models`)
    expect(raw.status).toBe(401)
    expectShape(await raw.json())
  })

  test("403: a read token may list models but not chat", async () => {
    const reader = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: READ, maxRetries: 0 })
    const error = await reader.chat.completions
      .create({ model: "drost", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(error.code).toBe("insufficient_permissions")
    expect(error.message).toContain("read token")
  })

  test("400: a body that fails the schema names the field in param", async () => {
    const error = await client.chat.completions
      .create({ model: "drost", messages: [] } as never)
      .catch((caught) => caught)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.param).toBe("messages")
    expect(error.type).toBe("invalid_request_error")
    expect(error.message).not.toMatch(/^400 Invalid$/)
    const broken = await gw.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    })
    expect(broken.status).toBe(400)
    expect(expectShape(await broken.json()).message).toContain("not valid JSON")
  })

  test("404: unknown model, unknown route, unknown session, all in OpenAI's shape", async () => {
    const model = await client.chat.completions
      .create({ model: "gpt-nope", messages: [{ role: "user", content: "hi" }] })
      .catch((caught) => caught)
    expect(model).toBeInstanceOf(OpenAI.NotFoundError)
    expect(model.code).toBe("model_not_found")
    expect(model.param).toBe("model")

    const route = await gw.fetch("/v1/embeddings", { method: "POST", body: "{}" })
    expect(route.status).toBe(404)
    expect(expectShape(await route.json()).code).toBe("unknown_url")

    const session = await client.chat.completions
      .create(
        { model: "drost", messages: [{ role: "user", content: "hi" }] },
        { headers: { "x-drost-session": "ses_missing" } },
      )
      .catch((caught) => caught)
    expect(session).toBeInstanceOf(OpenAI.NotFoundError)
    expect(session.code).toBe("not_found")
    expect(session.message).toContain("ses_missing")
  })

  test("413: a body over controlApi.maxBodyBytes, declared or streamed", async () => {
    const big = JSON.stringify({ model: "drost", messages: [{ role: "user", content: "x".repeat(40_000) }] })
    const declared = await client.chat.completions.create(JSON.parse(big)).catch((caught) => caught)
    expect(declared).toBeInstanceOf(OpenAI.APIError)
    expect(declared.status).toBe(413)
    expect(declared.code).toBe("request_too_large")
    const streamed = await gw.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([big]).stream(),
    })
    expect(streamed.status).toBe(413)
    expect(expectShape(await streamed.json()).code).toBe("request_too_large")
  })

  test("421: a foreign Host (DNS rebinding) is refused in OpenAI's shape too", async () => {
    const port = new URL(gw.url).port
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write(`GET /v1/models HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`),
      )
      let text = ""
      socket.setEncoding("utf8")
      socket.on("data", (data) => {
        text += data
      })
      socket.on("error", reject)
      socket.on("close", () => resolve(text))
    })
    expect(raw.split(" ")[1]).toBe("421")
    const error = expectShape(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)))
    expect(error.code).toBe("misdirected_request")
    expect(error.message).toContain("controlApi.allowedHosts")
  })

  test("429: past controlApi.mutationsPerMinute, a RateLimitError with retry-after", async () => {
    await using limited = await inProcess({ controlApi: { port: 0, openaiCompatible: true, mutationsPerMinute: 1 } })
    const tight = new OpenAI({ baseURL: `${limited.url}/v1`, apiKey: limited.token, maxRetries: 0 })
    const ask = () => tight.chat.completions.create({ model: "drost", messages: [{ role: "user", content: "hi" }] })
    await ask()
    const error = await ask().catch((caught) => caught)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.code).toBe("rate_limit_exceeded")
    expect(error.type).toBe("rate_limit_error")
    expect(Number(error.headers.get("retry-after"))).toBeGreaterThan(0)
  })

  test("GET /v1/models/{id}: the model object, or model_not_found", async () => {
    const model = await client.models.retrieve("drost")
    expect(model).toMatchObject({ id: "drost", object: "model", owned_by: "drost" })
    expect((await client.models.retrieve("demo")).id).toBe("demo")
    const missing = await client.models.retrieve("gpt-nope").catch((caught) => caught)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect(missing.code).toBe("model_not_found")
  })
})
