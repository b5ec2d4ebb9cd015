import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, events, telegramConfig, waitEvent } from "./helpers.ts"

test("an invalid token marks the gateway degraded with the reason; everything else keeps running", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { token: "9999:not-a-valid-token" }) })
  await using gw = await spawnGateway(ws.path)
  await waitEvent(ws, "gateway.state", (data) =>
    (data.reasons as string[]).some((reason) => reason.startsWith("telegram: invalid bot token")),
  )
  const health = await gw.api("/healthz")
  expect(health.status).toBe(503)
  expect(((await health.json()) as { reasons: string[] }).reasons.join()).toContain("401")
  const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const turn = (await (
    await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input: "still alive?" } })
  ).json()) as { status: string }
  expect(turn.status).toBe("completed")
  expect(gw.output()).not.toContain("not-a-valid-token")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("409 conflicts are reported, network errors back off, a stalled poll is restarted, and polling recovers", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { pollTimeoutSec: 1, stallMs: 300 }) })
  fake.fail("getUpdates", {
    code: 409,
    description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
  })
  fake.fail("getUpdates", { raw: 502 }, 2)
  fake.fail("getUpdates", { hang: true })
  await using gw = await spawnGateway(ws.path)
  await waitEvent(ws, "gateway.state", (data) =>
    (data.reasons as string[]).some((reason) => reason.includes("409 Conflict")),
  )
  fake.text(OWNER, "are you there?")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes('"are you there?"')),
    15_000,
    "answer after recovery",
  )
  const statuses = fake.callsOf("getUpdates").map((call) => call.status)
  expect(statuses.slice(0, 4)).toEqual([409, 502, 502, 0])
  // The hung request was abandoned after timeout + stallMs (1,300 ms) and a new poll started. The
  // watchdog starts when a request is sent while the fake stamps its arrival, and the two requests' send
  // times differ by a few ms (seen: 1,296 ms); anything near 1,300 rules out a plain retry or backoff.
  const polls = fake.callsOf("getUpdates")
  expect(polls[4]!.at - polls[3]!.at).toBeGreaterThanOrEqual(1250)
  await waitEvent(ws, "gateway.state", (data) => data.state === "running" && (data.reasons as string[]).length === 0)
  expect(((await (await gw.api("/healthz")).json()) as { state: string }).state).toBe("running")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("a provider failure gives the user one short message with an error id", async () => {
  const fake = await FakeTelegram.start()
  const broken = { id: "broken", kind: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1", model: "m", api: "chat" }
  await using ws = await workspace({
    config: telegramConfig(fake, {}, {}, { providers: { profiles: [broken], failover: { enabled: false } } }),
  })
  await using gw = await spawnGateway(ws.path)
  fake.text(OWNER, "hello")
  const message = await fake.waitFor(
    () => fake.chat(OWNER).find((candidate) => candidate.text.includes("Error id:")),
    30_000,
    "error message",
  )
  const failed = await waitEvent(ws, "session.turn.failed")
  expect(message.text).toContain(String(failed.data.turnId))
  expect(message.text.length).toBeLessThan(200)
  expect(fake.chat(OWNER).length).toBe(1)
  expect(events(ws).some((event) => event.type === "provider.error" || event.type === "session.turn.failed")).toBe(true)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("the store lease lets exactly one gateway poll a bot", async () => {
  const fake = await FakeTelegram.start()
  await using a = await workspace({ config: telegramConfig(fake) })
  await using b = await workspace({ config: telegramConfig(fake) })
  const env = { DROST_DB: a.file("shared.db") }
  await using first = await spawnGateway(a.path, { env })
  await fake.waitFor(() => fake.callsOf("getUpdates").length > 0, 10_000, "first gateway polling")
  await using second = await spawnGateway(b.path, { env })
  await waitEvent(b, "gateway.state", (data) =>
    (data.reasons as string[]).some((reason) => reason.includes("is polling this bot")),
  )
  fake.text(OWNER, "who answers?")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes('"who answers?"')),
    10_000,
    "answer",
  )
  // No 409 ping-pong: the second gateway never called getUpdates.
  expect(fake.callsOf("getUpdates").every((call) => call.status !== 409)).toBe(true)
  expect(fake.chat(OWNER).filter((message) => message.text.includes('"who answers?"')).length).toBe(1)
  expect(await second.stop()).toBe(0)
  expect(await first.stop()).toBe(0)
  fake.stop()
}, 30_000)
