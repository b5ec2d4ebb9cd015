/**
 * Model requests of the OpenAI-shaped APIs go over fetch (src/providers/post.ts), not through the
 * OpenAI SDK. What a refused request tells the router and the user must stay what the SDK told: the
 * same message, status and headers for every shape of error body. The SDK itself is the oracle here.
 */
import { afterAll, expect, test } from "bun:test"
import type { Credential } from "../../src/providers/credential.ts"
import { openaiClient } from "../../src/providers/openai-chat.ts"
import { endpoint, HttpError, postStream } from "../../src/providers/post.ts"

const answers: Record<string, { status: number; body: string; headers?: Record<string, string> }> = {
  message: { status: 401, body: JSON.stringify({ error: { message: "Incorrect API key provided", type: "auth" } }) },
  object: { status: 400, body: JSON.stringify({ error: { code: "bad", param: "model" } }) },
  nested: { status: 422, body: JSON.stringify({ error: { message: { detail: "no" } } }) },
  noerror: { status: 500, body: JSON.stringify({ detail: "something broke" }) },
  text: { status: 502, body: "<html>Bad gateway</html>" },
  empty: { status: 503, body: "" },
  scalar: { status: 500, body: "0" },
  nullError: { status: 404, body: JSON.stringify({ error: null, message: "gone" }) },
  limited: { status: 429, body: JSON.stringify({ error: { message: "slow down" } }), headers: { "retry-after": "7" } },
}

const seen: Headers[] = []
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    seen.push(request.headers)
    const name = new URL(request.url).pathname.split("/")[1]!
    const answer = answers[name]
    if (!answer) return new Response("data: [DONE]\n\n", { headers: { "content-type": "text/event-stream" } })
    return new Response(answer.body, { status: answer.status, headers: answer.headers })
  },
})
afterAll(() => server.stop(true))
const base = (name: string) => `http://127.0.0.1:${server.port}/${name}`
const key: Credential = { type: "api-key", value: "sk-test-123", source: "env:TEST" }

for (const name of Object.keys(answers)) {
  test(`an error answer (${name}) gives the SDK's message, status and headers`, async () => {
    const client = await openaiClient(base(name), key)
    const sdk = (await client.chat.completions
      .create({ model: "m", messages: [], stream: true })
      .asResponse()
      .catch((error) => error)) as { message: string; status: number; headers: Headers }
    const ours = (await postStream(
      endpoint(base(name), "chat/completions"),
      key,
      "{}",
      new AbortController().signal,
    ).catch((error) => error)) as HttpError
    expect(ours).toBeInstanceOf(HttpError)
    expect(ours.message).toBe(sdk.message)
    expect(ours.status).toBe(sdk.status)
    expect(ours.headers.get("retry-after")).toBe(sdk.headers.get("retry-after"))
  })
}

test("the key goes as a bearer token; without a credential no Authorization header is sent", async () => {
  seen.length = 0
  await postStream(endpoint(`${base("ok")}/`, "chat/completions"), key, "{}", new AbortController().signal)
  await postStream(endpoint(base("ok"), "chat/completions"), null, "{}", new AbortController().signal)
  expect(seen[0]!.get("authorization")).toBe("Bearer sk-test-123")
  expect(seen[1]!.get("authorization")).toBeNull()
  expect(seen[0]!.get("content-type")).toBe("application/json")
  expect(seen[0]!.get("user-agent")).toStartWith("drost/")
})

test("the endpoint joins the base URL with one slash, as the SDK does", () => {
  expect(endpoint("http://h/v1", "responses")).toBe("http://h/v1/responses")
  expect(endpoint("http://h/v1/", "responses")).toBe("http://h/v1/responses")
})
