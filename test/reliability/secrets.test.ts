/**
 * Secrets after a full run: a gateway with every kind of secret configured through the environment (a
 * provider key, the admin and read tokens of the Control API, a Telegram bot token) runs a workload
 * that touches everything that writes: turns with tool calls through the Control API (JSON and SSE)
 * and the OpenAI-compatible endpoint, a Telegram conversation, a provider that fails and echoes the
 * key in its error, the event stream, status/providers/tools, a session export through the API and the
 * CLI. Then no secret may appear anywhere under the workspace (store, WAL, logs, events, exports), in
 * the gateway's output, the CLI's output or any API answer.
 */
import { expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"
import { findSecrets } from "./chaos.ts"

const OWNER = 111
const SECRETS = {
  openai: "sk-reliability-secret-9f8e7d6c5b4a39281706f5e4",
  admin: "admin-token-reliability-6c1d7e2f9a3b4c5d",
  read: "read-token-reliability-0e9d8c7b6a5f4e3d",
  telegram: "7012345678:AAHreliabilityBotTokenSecret0123456789",
}

test("no configured key or token in anything a full run wrote or answered", async () => {
  await using llm = await fakeOpenAI({ key: SECRETS.openai })
  const tg = await FakeTelegram.start(SECRETS.telegram)
  await using ws = await workspace({
    config: {
      providers: {
        profiles: [
          {
            id: "gpt",
            kind: "openai",
            api: "chat",
            model: "gpt-test",
            baseUrl: llm.baseUrl,
            apiKeyEnv: "RELIABILITY_OPENAI_KEY",
          },
          {
            id: "leaky",
            kind: "openai",
            api: "chat",
            model: "gpt-test",
            baseUrl: llm.baseUrl,
            apiKeyEnv: "RELIABILITY_OPENAI_KEY",
          },
        ],
        defaultSessionProvider: "gpt",
        failover: { enabled: false },
      },
      controlApi: { port: 0, openaiCompatible: true },
      channels: [
        {
          kind: "telegram",
          tokenEnv: "RELIABILITY_TELEGRAM_TOKEN",
          apiRoot: tg.apiRoot,
          allowedUsers: [OWNER],
          pollTimeoutSec: 1,
        },
      ],
    },
    files: { "notes.txt": "alpha\nbeta\n" },
  })
  const env = {
    RELIABILITY_OPENAI_KEY: SECRETS.openai,
    RELIABILITY_TELEGRAM_TOKEN: SECRETS.telegram,
    DROST_CONTROL_ADMIN_TOKEN: SECRETS.admin,
    DROST_CONTROL_READ_TOKEN: SECRETS.read,
  }
  const answers: string[] = []
  const keep = async (response: Response) => {
    const text = await response.text()
    answers.push(text)
    return text
  }
  try {
    await using gw = await spawnGateway(ws.path, { env })
    expect(gw.token).toBe(SECRETS.admin)
    const events = await gw.api("/events")
    const { id } = JSON.parse(
      await keep(await gw.api("/sessions", { method: "POST", json: { title: "secrets" } })),
    ) as { id: string }

    // A turn with a tool call, as JSON; one as SSE.
    llm.queue(reply().tool("file.read", { path: "notes.txt" }), reply().text("notes read"))
    expect(
      JSON.parse(
        await keep(await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "read notes.txt" } })),
      ),
    ).toMatchObject({ status: "completed" })
    llm.queue(reply().text("streamed answer"))
    answers.push(
      await (
        await gw.api(`/sessions/${id}/turn`, {
          method: "POST",
          json: { input: "stream it" },
          headers: { accept: "text/event-stream" },
        })
      ).text(),
    )
    // The OpenAI-compatible endpoint.
    llm.queue(reply().text("compatible answer"))
    const compatible = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRETS.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "drost", user: "alice", messages: [{ role: "user", content: "hello" }] }),
    })
    expect(await keep(compatible)).toContain("compatible answer")
    // A provider that fails and echoes the key back in its error body.
    const leaky = JSON.parse(
      await keep(await gw.api("/sessions", { method: "POST", json: { provider: "leaky" } })),
    ) as { id: string }
    llm.queue(reply().status(401, { message: `Incorrect API key provided: ${SECRETS.openai}` }))
    const failed = JSON.parse(
      await keep(await gw.api(`/sessions/${leaky.id}/turn`, { method: "POST", json: { input: "hi" } })),
    ) as { status: string }
    expect(failed.status).toBe("failed")
    // Telegram: the owner asks, the bot answers.
    llm.queue(reply().text("hello from telegram"))
    tg.push({
      message: {
        message_id: 1,
        date: 0,
        from: { id: OWNER, is_bot: false, first_name: "O" },
        chat: { id: OWNER, type: "private" },
        text: "hi bot",
      },
    })
    await tg.waitFor(() => tg.callsOf("sendMessage", OWNER).length > 0, 15_000, "the bot's reply")
    // Reading everything back.
    for (const path of [
      "/status",
      "/providers",
      "/tools",
      `/sessions/${id}?limit=100`,
      `/sessions/${leaky.id}`,
      "/usage",
    ])
      await keep(await gw.api(path))
    await keep(await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${SECRETS.read}` } }))
    const exported = await keep(await gw.api(`/sessions/${id}/export`))
    ws.write("exports/api.json", exported)
    const cli = await runCli(["session", "export", id, "--out", ws.file("exports/cli.json"), "--url", gw.url], {
      cwd: ws.path,
      env,
    })
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: expect.any(String) })
    answers.push(cli.stdout, cli.stderr)
    // The event stream so far (replayed from the start), then a clean stop so every log is flushed.
    const reader = readSse(events)
    let seen = 0
    for await (const event of reader) {
      answers.push(JSON.stringify(event))
      if (++seen >= 20) break
    }
    expect(await gw.stop()).toBe(0)
    answers.push(gw.output())
  } finally {
    tg.stop()
  }
  const everywhere = Object.values(SECRETS)
  expect(findSecrets(ws.path, everywhere)).toEqual([])
  const leaked = answers.flatMap((text, index) =>
    everywhere
      .filter((secret) => text.includes(secret))
      .map((secret) => `answer ${index}: ${secret.slice(0, 6)}… in ${text.slice(0, 160)}`),
  )
  expect(leaked).toEqual([])
}, 60_000)
