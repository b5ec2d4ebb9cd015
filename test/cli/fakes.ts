/**
 * Small fakes on 127.0.0.1 for the setup and doctor tests, speaking the real wire formats: an
 * OpenAI-compatible server (`GET /v1/models`, streaming `POST /v1/chat/completions`), Anthropic's
 * `GET /v1/models`, and the Telegram Bot API methods a starting gateway calls.
 */
export interface Fake extends AsyncDisposable {
  url: string
  /** Requests seen, as "METHOD /path". */
  seen: string[]
}

export function fakeOpenAI(options: { key: string; reply?: string }): Fake {
  const seen: string[] = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      seen.push(`${request.method} ${url.pathname}`)
      if (request.headers.get("authorization") !== `Bearer ${options.key}`)
        return Response.json(
          { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } },
          { status: 401 },
        )
      if (url.pathname === "/v1/models")
        return Response.json({
          object: "list",
          data: [{ id: "fake-model", object: "model", created: 0, owned_by: "fake" }],
        })
      if (url.pathname === "/v1/chat/completions" && request.method === "POST") {
        await request.json()
        const chunk = (delta: object, finish: string | null) =>
          `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 0, model: "fake-model", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
        const usage = `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 0, model: "fake-model", choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`
        const body =
          chunk({ role: "assistant", content: options.reply ?? "hello from the fake" }, null) +
          chunk({}, "stop") +
          usage +
          "data: [DONE]\n\n"
        return new Response(body, { headers: { "content-type": "text/event-stream" } })
      }
      return Response.json({ error: { message: "not found" } }, { status: 404 })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    seen,
    [Symbol.asyncDispose]: async () => void (await server.stop(true)),
  }
}

export function fakeTelegram(options: { token: string }): Fake {
  const seen: string[] = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const [, bot, method] = url.pathname.split("/")
      seen.push(`${request.method} /${method}`)
      if (bot !== `bot${options.token}`)
        return Response.json({ ok: false, error_code: 401, description: "Unauthorized" }, { status: 401 })
      if (method === "getMe")
        return Response.json({ ok: true, result: { id: 777, is_bot: true, first_name: "Fake", username: "fake_bot" } })
      if (method === "getUpdates") {
        // An idle long poll: nothing arrives; answer well before any client timeout.
        await Bun.sleep(200)
        return Response.json({ ok: true, result: [] })
      }
      return Response.json({ ok: true, result: true })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    seen,
    [Symbol.asyncDispose]: async () => void (await server.stop(true)),
  }
}
