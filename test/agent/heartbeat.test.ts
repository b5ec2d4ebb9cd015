/**
 * The heartbeat through the real gateway (issue 17 item 3): with no HEARTBEAT.md it does not call the
 * model; with one, a "nothing to report" answer (HEARTBEAT_OK) is suppressed and anything else reaches
 * the fake Telegram chat; it runs in a session of its own with its own budget (maxSteps 1 here: a turn
 * that wants a tool call fails on that limit, not on agent.maxSteps). Beats every 2 s: the clock is the
 * behaviour under test.
 */
import { expect, test } from "bun:test"
import { checklist, withinHours, worthSaying } from "../../src/agent/heartbeat.ts"
import { events, OWNER, waitEvent } from "../channels/helpers.ts"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { FAKE_KEY_ENV, fakeConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

test("heartbeat: skipped without a checklist, HEARTBEAT_OK suppressed, a real answer delivered, its own budget", async () => {
  const tg = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: fakeConfig(llm.baseUrl, {
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
      heartbeat: { enabled: true, every: "2s", deliver: { channel: "telegram", chat: OWNER }, maxSteps: 1 },
    }),
  })
  await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
  const beats = () => events(ws).filter((event) => event.type === "heartbeat.run")
  const nth = (n: number) =>
    waitEvent(ws, "heartbeat.run", () => beats().length >= n, 15_000).then(() => beats()[n - 1]!)

  const first = await nth(1)
  expect(first.data).toMatchObject({ status: "skipped", reason: "HEARTBEAT.md is missing or empty" })
  expect(llm.hits.length).toBe(0)

  llm.queue(
    reply().text("**HEARTBEAT_OK**"),
    reply().text("Your inbox has an urgent item: call Anna back."),
    reply().tool("file_list", { path: "." }),
  )
  await Bun.write(ws.file("HEARTBEAT.md"), "# Heartbeat\n- If memory/inbox.md has an urgent item, tell me.\n")
  const ran = async () => {
    for (let n = beats().length + 1; ; n++) {
      const beat = await nth(n)
      if (beat.data.status !== "skipped") return beat
    }
  }
  const quiet = await ran()
  expect(quiet.data).toMatchObject({ status: "completed", suppressed: true, delivered: false })
  const said = await ran()
  expect(said.data).toMatchObject({ status: "completed", suppressed: false, delivered: true })
  expect(tg.chat(OWNER).map((message) => message.text)).toEqual(["Your inbox has an urgent item: call Anna back."])
  // The prompt carried the checklist and asked for the sentinel; the session is the heartbeat's own.
  const prompt = JSON.stringify((llm.hits[0]!.body.messages as unknown[]).at(-1))
  expect(prompt).toContain("If memory/inbox.md has an urgent item")
  expect(prompt).toContain("answer exactly HEARTBEAT_OK")
  expect(quiet.data.sessionId).toBe(said.data.sessionId)
  const session = (await (await gw.api(`/sessions/${said.data.sessionId}`)).json()) as {
    session: { channel: string }
    turns: { source: string }[]
  }
  expect(session.session.channel).toBe("heartbeat")
  expect(session.turns.every((turn) => turn.source === "heartbeat")).toBe(true)

  // Its own budget: one model call, so a turn that wants a tool fails on heartbeat.maxSteps.
  const failed = await ran()
  expect(failed.data.status).toBe("failed")
  expect(String(failed.data.reason)).toContain("step limit of 1 model calls")
  expect(tg.chat(OWNER).length).toBe(1)
  expect(await gw.stop()).toBe(0)
  tg.stop()
}, 60_000)

test("what counts as nothing to report, active hours, an empty checklist", async () => {
  for (const quiet of ["HEARTBEAT_OK", " **HEARTBEAT_OK** ", "`HEARTBEAT_OK`.", "", "HEARTBEAT_OK\n"])
    expect(worthSaying(quiet, "HEARTBEAT_OK")).toBeNull()
  expect(worthSaying("HEARTBEAT_OK — but the backup failed last night.", "HEARTBEAT_OK")).toBe(
    "— but the backup failed last night.",
  )
  expect(worthSaying("The backup failed.", "HEARTBEAT_OK")).toBe("The backup failed.")

  const at = (iso: string) => Date.parse(iso)
  const day = { start: "08:00", end: "22:00" }
  expect(withinHours(at("2030-06-01T10:00:00Z"), day, "UTC")).toBe(true)
  expect(withinHours(at("2030-06-01T22:00:00Z"), day, "UTC")).toBe(false)
  expect(withinHours(at("2030-06-01T07:59:00Z"), day, "UTC")).toBe(false)
  // In the owner's zone: 07:00 UTC is 09:00 in Berlin (summer).
  expect(withinHours(at("2030-06-01T07:00:00Z"), day, "Europe/Berlin")).toBe(true)
  const night = { start: "22:00", end: "06:00" }
  expect(withinHours(at("2030-06-01T23:30:00Z"), night, "UTC")).toBe(true)
  expect(withinHours(at("2030-06-01T05:59:00Z"), night, "UTC")).toBe(true)
  expect(withinHours(at("2030-06-01T12:00:00Z"), night, "UTC")).toBe(false)

  await using ws = await workspace()
  expect(checklist(ws.file("HEARTBEAT.md"))).toBeNull()
  await Bun.write(ws.file("HEARTBEAT.md"), "# Heartbeat\n\n## Later\n")
  expect(checklist(ws.file("HEARTBEAT.md"))).toBeNull()
  await Bun.write(ws.file("HEARTBEAT.md"), "# Heartbeat\n- check the inbox\n")
  expect(checklist(ws.file("HEARTBEAT.md"))).toContain("check the inbox")
})

test("without heartbeat.deliver the answer goes to the owner's most recent Telegram chat", async () => {
  const tg = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: fakeConfig(llm.baseUrl, {
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
      heartbeat: { enabled: true, every: "2s" },
    }),
    files: { "HEARTBEAT.md": "- Remind me to check the oven.\n" },
  })
  // Every model call gets this answer: the chat's own turn and the heartbeat's, in whatever order.
  llm.always(reply().text("Check the oven."))
  await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
  tg.text(OWNER, "hello")
  // Beats before the chat existed had nowhere to go (undelivered); the first after it reaches the chat.
  const beat = await waitEvent(ws, "heartbeat.run", (data) => data.delivered === true, 20_000)
  expect(beat.data.status).toBe("completed")
  // The chat's answer and the heartbeat's message.
  await tg.waitFor(
    () => tg.chat(OWNER).filter((message) => message.text === "Check the oven.").length >= 2,
    10_000,
    "both messages",
  )
  for (const early of events(ws).filter((event) => event.type === "heartbeat.run" && !event.data.delivered))
    expect(early.data.reason).toBe("no chat to deliver to (heartbeat.deliver)")
  expect(await gw.stop()).toBe(0)
  tg.stop()
}, 60_000)
