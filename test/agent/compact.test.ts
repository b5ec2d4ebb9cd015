/**
 * History compaction against the fake OpenAI (Responses and Chat), Anthropic and OpenAI-compatible
 * servers: the fakes reject any request whose tool calls and results do not pair up (as the real APIs
 * do), and every recorded body is checked again here. The stored messages must not change.
 */
import { describe, expect, test } from "bun:test"
import { fakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { checkAnthropic, checkChat, checkResponses } from "../fake/validate.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

type Kind = "openai-responses" | "openai-chat" | "anthropic" | "openai-compatible"
const KEY_ENV = { DROST_FAKE_KEY: "test-key" }
const BIG = Array.from(
  { length: 60 },
  (_, i) => `line ${String(i).padStart(2, "0")} of the big file: ${"lorem ipsum ".repeat(3)}`,
).join("\n")

function profile(kind: Kind, baseUrl: string) {
  const base = { id: "llm", baseUrl, apiKeyEnv: "DROST_FAKE_KEY" }
  if (kind === "openai-responses") return { ...base, kind: "openai", api: "responses", model: "gpt-test" }
  if (kind === "openai-chat") return { ...base, kind: "openai", api: "chat", model: "gpt-test" }
  if (kind === "anthropic") return { ...base, kind: "anthropic", model: "claude-test" }
  return { ...base, kind: "openai-compatible", model: "local-model" }
}

const check = (kind: Kind, body: Record<string, unknown>) =>
  kind === "anthropic" ? checkAnthropic(body) : kind === "openai-responses" ? checkResponses(body) : checkChat(body)

interface Stored {
  id: string
  seq: number
  role: string
  parts: unknown[]
}

async function scenario(kind: Kind, summaryReply: ReturnType<typeof reply>) {
  await using llm = kind === "anthropic" ? await fakeAnthropic() : await fakeOpenAI()
  const config = (context: Record<string, unknown> = {}) => ({
    providers: { profiles: [profile(kind, llm.baseUrl)] },
    controlApi: { port: 0 },
    context,
  })
  await using ws = await workspace({ config: config(), files: { "big.txt": `${BIG}\n` } })

  // Phase 1: a large window; three turns, each with a tool call and its result.
  let sessionId: string
  let stored: Stored[]
  let fixed: number
  {
    await using gw = await spawnGateway(ws.path, { env: KEY_ENV })
    sessionId = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
    for (const turn of [1, 2, 3]) {
      llm.queue(reply().tool("file.read", { path: "big.txt" }), reply().text(`done reading, turn ${turn}`))
      const result = (await (
        await gw.api(`/sessions/${sessionId}/turn`, {
          method: "POST",
          json: { input: `read big.txt please (${turn})` },
        })
      ).json()) as { status: string }
      expect(result.status).toBe("completed")
    }
    stored = ((await (await gw.api(`/sessions/${sessionId}?limit=500`)).json()) as { messages: Stored[] }).messages
    expect(stored.map((message) => message.role)).toEqual(
      Array(3).fill(["user", "assistant", "tool", "assistant"]).flat(),
    )
    const preview = (await (await gw.api(`/prompt?session=${sessionId}`)).json()) as {
      system: { tokens: number }
      toolTokens: number
      historyTokens: number
    }
    fixed = preview.system.tokens + preview.toolTokens
    expect(preview.historyTokens).toBeGreaterThan(2_800)
    expect(await gw.stop()).toBe(0)
  }

  // Phase 2: the same session on a window whose history budget (2,600 tokens) holds one turn of about 1,050 tokens, not three; keep-recent is 1,300 (half the budget).
  ws.write(
    "drost.config.json",
    JSON.stringify(
      config({ windowTokens: fixed + 200 + 2_600, reserveTokens: 200, keepRecentTokens: 1_500, summaryTokens: 200 }),
    ),
  )
  await using gw = await spawnGateway(ws.path, { env: KEY_ENV })
  const before = llm.hits.length
  llm.queue(summaryReply, reply().text("final answer"))
  const result = (await (
    await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input: "what did you read?" } })
  ).json()) as { status: string; text: string }
  expect(result).toMatchObject({ status: "completed", text: "final answer" })

  const [summaryHit, mainHit] = llm.hits.slice(before).filter((hit) => !hit.path.endsWith("/models"))
  // The summary request is text only: no tools offered, the transcript inside.
  expect(summaryHit!.body.tools ?? []).toEqual([])
  expect(JSON.stringify(summaryHit!.body)).toContain("read big.txt please (1)")
  // Every request this test made is one the real API accepts.
  for (const hit of llm.hits.filter((hit) => !hit.path.endsWith("/models"))) expect(check(kind, hit.body)).toBeNull()
  const sent = JSON.stringify(mainHit!.body)
  expect(sent).toContain("Summary of the earlier conversation")
  expect(sent).not.toContain("done reading, turn 1")
  expect(sent).toContain("read big.txt please (3)")
  expect(sent).toContain("done reading, turn 3")
  // The kept turn still carries its call and result (once each).
  expect(sent.match(/line 59 of the big file/g)?.length).toBe(1)

  // The store is unchanged: the same twelve messages, then the new turn.
  const after = ((await (await gw.api(`/sessions/${sessionId}?limit=500`)).json()) as { messages: Stored[] }).messages
  expect(after.slice(0, stored.length)).toEqual(stored)
  expect(after.slice(stored.length).map((message) => message.role)).toEqual(["user", "assistant"])

  const preview = (await (await gw.api(`/prompt?session=${sessionId}`)).json()) as {
    summaryUpto: number
    history: { role: string }[]
  }
  expect(preview.summaryUpto).toBe(stored[7]!.seq)
  expect(preview.history[0]!.role).toBe("user")
  expect(await gw.stop()).toBe(0)
  const events = (await Bun.file(ws.file(".drost/logs/events.jsonl")).text())
    .split("\n")
    .filter((line) => line.includes('"session.compacted"'))
  expect(events.length).toBe(1)
  return {
    sent,
    compacted: JSON.parse(events[0]!).data as { source: string; summarised: number; after: number; budget: number },
  }
}

describe("history compaction", () => {
  for (const kind of ["openai-responses", "openai-chat", "anthropic", "openai-compatible"] as const) {
    test(`${kind}: older turns are summarised by the model, pairs stay valid, the store is unchanged`, async () => {
      const { sent, compacted } = await scenario(
        kind,
        reply().text("Objective: read big.txt. Work done: file.read of big.txt in two turns."),
      )
      expect(sent).toContain("Objective: read big.txt.")
      expect(compacted).toMatchObject({ source: "model", summarised: 8 })
      expect(compacted.after).toBeLessThanOrEqual(compacted.budget)
    }, 30_000)
  }

  test("when the model cannot summarise, the deterministic digest is used", async () => {
    const { sent, compacted } = await scenario("anthropic", reply().status(400, { message: "summary refused" }))
    expect(compacted.source).toBe("fallback")
    expect(sent).toContain("Written without the model")
    expect(sent).toContain("Objective (first request): read big.txt please (1)")
    expect(sent).toContain("file.read ×2")
  }, 30_000)
})
