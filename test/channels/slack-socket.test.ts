/**
 * Slack's Socket Mode and Web API edges: reconnects (refresh_requested, drops), Slack's retries of an
 * envelope, a rejected app token, 429 with Retry-After. The gateway is the real one; Slack is
 * test/fake/slack.ts.
 */
import { expect, test } from "bun:test"
import { FakeSlack } from "../fake/slack.ts"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { events, waitEvent } from "./helpers.ts"

const OWNER = "U0OWNER"
const DM = `D${OWNER}`

const slackConfig = (fake: FakeSlack, channel: Record<string, unknown> = {}, demo: Record<string, unknown> = {}) =>
  demoConfig(
    {
      channels: [
        {
          kind: "slack",
          appToken: fake.appToken,
          botToken: fake.botToken,
          apiUrl: fake.apiUrl,
          allowedUsers: [OWNER],
          reconnectMs: 200,
          ...channel,
        },
      ],
    },
    demo,
  )

const said = (text: string) => `You said: "${text}"`
test("refresh_requested: the client reconnects through apps.connections.open; events sent meanwhile and Slack's retries are answered once", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({ config: slackConfig(fake) })
  await using gw = await spawnGateway(ws.path)
  await fake.waitFor(() => fake.open === 1, "the first connection")
  fake.message({ user: OWNER, text: "before" })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said("before"))), "the first answer")
  fake.disconnect("refresh_requested")
  await fake.waitFor(() => fake.open === 0, "the old connection to close")
  // Sent while no connection is open: the fake holds it and delivers it on the next one.
  fake.message({ user: OWNER, text: "during" })
  await fake.waitFor(() => fake.connections.length === 2 && fake.open === 1, "the second connection")
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said("during"))), "the answer after reconnecting")
  expect(fake.calls.filter((call) => call.method === "apps.connections.open")).toHaveLength(2)
  // Slack retries an event whose ack it did not see: the same envelope and event id again.
  const envelope = fake.event({
    type: "message",
    channel_type: "im",
    user: OWNER,
    text: "once only",
    ts: "1800000000.000001",
    channel: DM,
  })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said("once only"))), "the answer")
  fake.retry(envelope)
  await fake.waitFor(() => fake.ackCount(envelope) === 2, "the retry's ack")
  // A later message in the same conversation is answered after anything the retry could have started.
  fake.message({ user: OWNER, text: "after" })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said("after"))), "the last answer")
  expect(fake.chat(DM).filter((m) => m.text.includes(said("once only")))).toHaveLength(1)
  const completed = () => events(ws).filter((event) => event.type === "session.turn.completed").length
  await waitEvent(ws, "session.turn.completed", () => completed() >= 4)
  expect(completed()).toBe(4)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("a 429 with Retry-After is waited out: the answer arrives once, and no write lands inside the pacing gap", async () => {
  const fake = await FakeSlack.start()
  fake.gapMs = 1000
  await using ws = await workspace({ config: slackConfig(fake, {}, { delayMs: 30 }) })
  await using gw = await spawnGateway(ws.path)
  fake.failNext("chat.update", { status: 429, retryAfter: 1 })
  const text = "a long enough question that the answer streams over several updates of one message"
  fake.message({ user: OWNER, text })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said(text))), "the answer", 20_000)
  await waitEvent(ws, "session.turn.completed")
  const writes = fake.calls.filter((call) => call.method.startsWith("chat.") && call.params.channel === DM)
  expect(writes.filter((call) => call.status === 429)).toHaveLength(1) // only the injected one
  expect(fake.chat(DM)).toHaveLength(1)
  expect(fake.chat(DM)[0]!.edits).toBeGreaterThan(0)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("a rejected app-level token degrades only the Slack channel, with Slack's reason", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({ config: slackConfig(fake, { appToken: "xapp-1-wrong" }) })
  await using gw = await spawnGateway(ws.path)
  const state = await waitEvent(ws, "gateway.state", (data) =>
    (data.reasons as string[]).some((reason) => reason.startsWith("slack: ")),
  )
  expect((state.data.reasons as string[]).join()).toContain("invalid_auth")
  expect((state.data.reasons as string[]).join()).not.toContain("xapp-1-wrong")
  expect(fake.open).toBe(0)
  expect((await gw.api("/healthz")).status).toBe(503)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("a dropped connection is reopened; a revoked app token at the reconnect degrades the channel instead of leaving it silently down", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({ config: slackConfig(fake) })
  await using gw = await spawnGateway(ws.path)
  await fake.waitFor(() => fake.open === 1, "the first connection")
  fake.drop()
  await fake.waitFor(() => fake.connections.length === 2 && fake.open === 1, "the reconnect after a drop")
  fake.message({ user: OWNER, text: "still there?" })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said("still there?"))), "the answer")
  fake.failNext("apps.connections.open", { error: "invalid_auth" })
  fake.drop()
  const state = await waitEvent(ws, "gateway.state", (data) =>
    (data.reasons as string[]).some((reason) => reason.startsWith("slack: ")),
  )
  expect((state.data.reasons as string[])[0]).toContain("app-level token rejected (Slack answered invalid_auth)")
  // Handled: no unhandled rejection's stack trace from the SDK's own reconnect timer.
  expect(gw.output()).not.toContain("at retrieveWSSURL")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)
