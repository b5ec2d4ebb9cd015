/**
 * Slack-specific behaviour beyond the shared contract suite (test/channels/contract/slack.test.ts):
 * threads as sessions in channels, pairing, approval presses, schedule deliveries. Socket Mode
 * reconnects, retries and rate limits: slack-socket.test.ts. The gateway is the real one; Slack is
 * test/fake/slack.ts.
 */
import { expect, test } from "bun:test"
import { FakeSlack } from "../fake/slack.ts"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { events, waitEvent } from "./helpers.ts"

const OWNER = "U0OWNER"
const DM = `D${OWNER}`
const GENERAL = "C0GENERAL"

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
const sessions = async (gw: { api(path: string): Promise<Response> }) =>
  ((await (await gw.api("/sessions?channel=slack")).json()) as { sessions: { id: string; title: string }[] }).sessions

test("in a channel: a mention starts a thread that is its own session; follow-ups in the thread need no mention", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({
    config: slackConfig(fake, { channels: { enabled: true, allowed: [GENERAL] } }),
  })
  await using gw = await spawnGateway(ws.path)
  const first = fake.message({ user: OWNER, channel: GENERAL, text: "first question", mention: true })
  await fake.waitFor(() => fake.chat(GENERAL, first).some((m) => m.text.includes(said("first question"))), "answer 1")
  // The answer is in the mention's thread, and the mention itself is stripped from what the agent read.
  expect(fake.chat(GENERAL).every((message) => message.threadTs === first)).toBe(true)
  fake.message({ user: OWNER, channel: GENERAL, text: "and a follow-up", thread: first })
  await fake.waitFor(() => fake.chat(GENERAL, first).some((m) => m.text.includes(said("and a follow-up"))), "answer 2")
  const second = fake.message({ user: OWNER, channel: GENERAL, text: "another topic", mention: true })
  await fake.waitFor(() => fake.chat(GENERAL, second).some((m) => m.text.includes(said("another topic"))), "answer 3")
  // Two threads, two sessions; the follow-up went to the first thread's session.
  const list = await sessions(gw)
  expect(list).toHaveLength(2)
  // Not addressed, not allowed: a plain channel message, a stranger's mention, a mention elsewhere.
  fake.message({ user: OWNER, channel: GENERAL, text: "just chatting" })
  fake.message({ user: "U0STRANGER", channel: GENERAL, text: "me too?", mention: true })
  fake.message({ user: OWNER, channel: "C0OTHER", text: "over here", mention: true })
  await waitEvent(ws, "slack.message.ignored", (data) => data.channel === "C0OTHER")
  const reasons = events(ws)
    .filter((event) => event.type === "slack.message.ignored")
    .map((event) => event.data.reason)
  expect(reasons).toEqual(["not addressed to the bot", "channel member not allowed", "channel not allowed"])
  expect(await sessions(gw)).toHaveLength(2)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("pairing: a stranger's DM gets a one-time code and nothing else; drost slack approve lets them in", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({ config: slackConfig(fake, { pairing: true }) })
  await using gw = await spawnGateway(ws.path)
  const stranger = "U0STRANGER"
  fake.message({ user: stranger, text: "hi, who are you?" })
  await fake.waitFor(() => fake.chat(`D${stranger}`).length === 1, "the pairing code")
  const code = fake.chat(`D${stranger}`)[0]!.text.match(/drost slack approve ([A-Z2-9]{8})/)![1]!
  fake.message({ user: stranger, text: "please?" })
  await waitEvent(
    ws,
    "slack.message.ignored",
    () => events(ws).filter((event) => event.type === "slack.message.ignored").length >= 2,
  )
  // The same open code is not sent again within a minute, and no session exists.
  expect(fake.chat(`D${stranger}`)).toHaveLength(1)
  expect(await sessions(gw)).toHaveLength(0)
  const wrong = await runCli(["slack", "approve", "AAAAAAAA"], { cwd: ws.path })
  expect(wrong.code).toBe(1)
  const approved = await runCli(["slack", "approve", code.toLowerCase()], { cwd: ws.path })
  expect(approved.stdout).toContain(`approved member ${stranger}`)
  await fake.waitFor(() => fake.chat(`D${stranger}`).some((m) => m.text.includes("You're approved")), "the news")
  fake.message({ user: stranger, text: "hello now" })
  await fake.waitFor(() => fake.chat(`D${stranger}`).some((m) => m.text.includes(said("hello now"))), "the answer")
  // A code works once.
  expect((await runCli(["slack", "approve", code], { cwd: ws.path })).code).toBe(1)
  const listed = await runCli(["slack", "pairings", "--json"], { cwd: ws.path })
  expect(JSON.parse(listed.stdout)).toMatchObject([{ userId: stranger, approvedAt: expect.any(Number) }])
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("an approval button pressed by someone who may not decide changes nothing; the owner's press decides", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({
    config: demoConfig(
      {
        channels: [
          {
            kind: "slack",
            appToken: fake.appToken,
            botToken: fake.botToken,
            apiUrl: fake.apiUrl,
            allowedUsers: [OWNER],
            reconnectMs: 200,
          },
        ],
        tools: { approve: ["file.read"] },
      },
      {},
    ),
    files: { "hello.txt": "hi from a file\n" },
  })
  await using gw = await spawnGateway(ws.path)
  fake.message({ user: OWNER, text: "read hello.txt" })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes("Approval needed")), "the approval request")
  const request = fake.chat(DM).find((m) => m.text.includes("Approval needed"))!
  // The blocks Slack shows: the request in mrkdwn, then Approve / Deny / Allow for this session.
  expect(JSON.stringify(request.blocks)).toContain("drost_session")
  const stranger = fake.press("U0STRANGER", DM, request.ts, "drost_approve")
  await fake.waitFor(() => fake.acked(stranger), "the stranger's press acknowledged")
  const waiting = (await (await gw.api("/approvals")).json()) as { approvals: unknown[] }
  expect(waiting.approvals).toHaveLength(1)
  fake.press(OWNER, DM, request.ts, "drost_approve")
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes("hi from a file")), "the answer with the file")
  const decided = await waitEvent(ws, "approval.decided")
  expect(decided.data).toMatchObject({ approved: true, by: `slack:${OWNER}` })
  // The buttons gave way to the decision.
  await fake.waitFor(() => request.text.includes("Approved"), "the decision shown")
  expect(JSON.stringify(request.blocks)).not.toContain("drost_approve")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("a schedule delivers to a Slack DM and to a thread, by the channel's name", async () => {
  const fake = await FakeSlack.start()
  const thread = "1700000000.000042"
  const schedule = (id: string, chat: string) => ({
    id,
    every: "2s",
    prompt: `${id} summary please`,
    deliver: { channel: "slack", chat },
  })
  await using ws = await workspace({
    config: demoConfig({
      channels: [
        { kind: "slack", appToken: fake.appToken, botToken: fake.botToken, apiUrl: fake.apiUrl, allowedUsers: [OWNER] },
      ],
      schedules: [schedule("dm", DM), schedule("thread", `${GENERAL}:${thread}`)],
    }),
  })
  await using gw = await spawnGateway(ws.path)
  const listed = (await (await gw.api("/schedules")).json()) as { deliveries: string[] }
  expect(listed.deliveries).toContain("slack")
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes("dm summary please")), "the DM delivery")
  await fake.waitFor(
    () => fake.chat(GENERAL, thread).some((m) => m.text.includes("thread summary please")),
    "the thread delivery",
  )
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="),
  (c) => c.charCodeAt(0),
)

test("a shared image becomes image input with its text, fetched with the bot token; other files are declined", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({ config: slackConfig(fake) })
  await using gw = await spawnGateway(ws.path)
  const image = fake.file("cat.png", "image/png", PNG)
  fake.message({ user: OWNER, text: "what is this?", files: [image] })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes(said("what is this?"))), "the answer")
  expect(fake.downloads).toEqual([image.id])
  fake.message({ user: OWNER, text: "", files: [fake.file("notes.pdf", "application/pdf", new Uint8Array([37, 80]))] })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes("only images are supported")), "the decline")
  const list = await sessions(gw)
  const body = (await (await gw.api(`/sessions/${list[0]!.id}?limit=50`)).json()) as {
    messages: { role: string; parts: { type: string; mediaType?: string }[] }[]
  }
  const users = body.messages.filter((message) => message.role === "user")
  expect(users).toHaveLength(1)
  expect(users[0]!.parts.map((part) => part.type)).toEqual(["text", "image"])
  expect(users[0]!.parts[1]!.mediaType).toBe("image/png")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("what the agent writes never pings: <!channel> in an answer is escaped in every streamed update and the final text", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace({ config: slackConfig(fake, {}, { delayMs: 30 }) })
  await using gw = await spawnGateway(ws.path)
  // Slack escapes what a person types; the agent reads it unescaped and (the demo model) repeats it.
  fake.message({ user: OWNER, text: "tell everyone &lt;!channel&gt; that lunch &amp; coffee are ready now" })
  await fake.waitFor(() => fake.chat(DM).some((m) => m.text.includes("lunch &amp; coffee")), "the answer")
  await waitEvent(ws, "session.turn.completed")
  const writes = fake.calls.filter((call) => call.method.startsWith("chat.") && call.params.channel === DM)
  expect(writes.length).toBeGreaterThan(1)
  for (const call of writes) expect(String(call.params.text)).not.toContain("<!channel>")
  expect(fake.chat(DM).at(-1)!.text).toContain("&lt;!channel&gt;")
  const list = await sessions(gw)
  const body = (await (await gw.api(`/sessions/${list[0]!.id}?limit=10`)).json()) as {
    messages: { role: string; parts: { text?: string }[] }[]
  }
  expect(body.messages[0]!.parts[0]!.text).toBe("tell everyone <!channel> that lunch & coffee are ready now")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)
