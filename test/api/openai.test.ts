import { describe, expect, test } from "bun:test"
import OpenAI from "openai"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

describe("OpenAI-compatible endpoint", () => {
  test("the official openai client streams a completion while the gateway runs a tool in between", async () => {
    await using ws = await workspace({
      config: demoConfig({ controlApi: { port: 0, openaiCompatible: true } }),
      files: { "notes/todo.txt": "buy milk\n" },
    })
    await using gw = await spawnGateway(ws.path)
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })

    const models = await client.models.list()
    expect(models.data.map((model) => model.id)).toEqual(["drost", "demo"])

    const stream = await client.chat.completions.create({
      model: "drost",
      user: "alice",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "list files" }],
    })
    let text = ""
    let chunks = 0
    let finish: string | null = null
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      chunks++
      text += chunk.choices[0]?.delta.content ?? ""
      finish = chunk.choices[0]?.finish_reason ?? finish
      usage = chunk.usage ?? usage
    }
    expect(chunks).toBeGreaterThan(3)
    expect(finish).toBe("stop")
    expect(usage?.total_tokens).toBeGreaterThan(0)
    // Text of the first step, then (after the tool ran) the answer built from its result.
    expect(text).toContain("file.list")
    expect(text).toMatch(/Here is what file\.list returned|reported an error/)

    // The tool really ran inside the gateway, in the session kept for user "alice".
    const sessions = (await (await gw.api("/sessions?channel=openai")).json()) as {
      sessions: { id: string; channelKey: string }[]
    }
    expect(sessions.sessions).toHaveLength(1)
    expect(sessions.sessions[0]!.channelKey).toBe("alice")
    const detail = (await (await gw.api(`/sessions/${sessions.sessions[0]!.id}`)).json()) as {
      messages: { role: string; parts: { type: string; name?: string }[] }[]
    }
    expect(detail.messages.map((message) => message.role)).toEqual(["user", "assistant", "tool", "assistant"])
    expect(detail.messages[2]!.parts[0]).toMatchObject({ type: "tool-result", name: "file.list" })

    // Same user → same session; non-streaming returns the final answer.
    const second = await client.chat.completions.create({
      model: "demo",
      user: "alice",
      messages: [{ role: "user", content: "hello again" }],
    })
    expect(second.object).toBe("chat.completion")
    expect(second.choices[0]!.message.content).toContain("hello again")
    const after = (await (await gw.api("/sessions?channel=openai")).json()) as { total: number }
    expect(after.total).toBe(1)
  }, 30_000)

  test("errors come back in OpenAI's shape; a read token may list models but not chat; off by default", async () => {
    const READ = "read-token-0123456789abcdef"
    await using ws = await workspace({
      config: demoConfig({ controlApi: { port: 0, openaiCompatible: true, readToken: READ } }),
    })
    await using gw = await spawnGateway(ws.path)
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 })
    const unknown = await client.chat.completions
      .create({ model: "gpt-nope", messages: [{ role: "user", content: "hi" }] })
      .catch((error) => error)
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError)
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found")
    const reader = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: READ, maxRetries: 0 })
    expect((await reader.models.list()).data.length).toBe(2)
    expect(
      await reader.chat.completions
        .create({ model: "drost", messages: [{ role: "user", content: "hi" }] })
        .catch((error) => error),
    ).toBeInstanceOf(OpenAI.PermissionDeniedError)
    const anonymous = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "not-a-token", maxRetries: 0 })
    expect(await anonymous.models.list().catch((error) => error)).toBeInstanceOf(OpenAI.AuthenticationError)

    await using off = await workspace({ config: demoConfig() })
    await using plain = await spawnGateway(off.path)
    const disabled = await fetch(`${plain.url}/v1/models`, { headers: { authorization: `Bearer ${plain.token}` } })
    expect(disabled.status).toBe(404)
  }, 30_000)
})
