/**
 * The Discord channel's own behaviour beyond the shared contract suite, against the loopback fake
 * Gateway and REST API (test/fake/discord.ts) and a real gateway process: Discord's limits (2,000
 * characters, rate limits and 429s), the Gateway's resume and repeated dispatches, guilds, threads as
 * sessions, slash commands, image attachments and the Message Content intent.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { createFakeDiscord, type FakeDiscord } from "../fake/discord.ts"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { waitEvent } from "./helpers.ts"

const OWNER = "1200000000000000111"
const OTHER = "1200000000000000222"
const DM = "1400000000000000111"
const GUILD = "1500000000000000001"
const CHANNEL = "1500000000000000010"
const THREAD = "1500000000000000011"

let fake: FakeDiscord | null = null
afterEach(() => {
  fake?.stop()
  fake = null
})

const channel = (discord: FakeDiscord, extra: Record<string, unknown> = {}) => ({
  kind: "discord",
  token: discord.token,
  apiRoot: discord.api,
  allowedUsers: [OWNER],
  ...extra,
})
const said = (text: string) => `You said: "${text}"`
const identified = (discord: FakeDiscord) => discord.until(() => discord.identifies.length > 0, 15_000, "IDENTIFY")
const contents = (discord: FakeDiscord, channelId: string) => discord.messages(channelId).map((m) => m.content)

describe("discord channel", () => {
  test("the fake enforces Discord's 2,000 characters; a longer answer arrives as several messages, none over it", async () => {
    fake = createFakeDiscord()
    const direct = await fetch(`${fake.api}/v10/channels/${DM}/messages`, {
      method: "POST",
      headers: { authorization: `Bot ${fake.token}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "x".repeat(2001) }),
    })
    expect(direct.status).toBe(400)
    expect(((await direct.json()) as { code: number }).code).toBe(50035)
    const llm = await fakeOpenAI({ key: null })
    await using _llm = llm
    const long = Array.from({ length: 700 }, (_, i) => `word${i}`).join(" ")
    llm.queue(reply().text(long))
    const profile = {
      id: "llm",
      kind: "openai-compatible",
      baseUrl: llm.baseUrl,
      model: "m",
      apiKeyEnv: "DISCORD_TEST_KEY",
    }
    await using ws = await workspace({
      config: demoConfig({ channels: [channel(fake)], providers: { profiles: [profile] } }),
    })
    await using gw = await spawnGateway(ws.path, { env: { DISCORD_TEST_KEY: "k" } })
    await identified(fake)
    fake.message(DM, OWNER, "say a lot")
    await waitEvent(ws, "session.turn.completed")
    await fake.until(() => contents(fake!, DM).join(" ").includes("word699"), 15_000, "the whole answer")
    const messages = contents(fake, DM)
    expect(messages.length).toBeGreaterThan(2)
    expect(messages.join(" ").replace(/\s+/g, " ")).toBe(long)
    for (const text of messages) expect(text.length).toBeLessThanOrEqual(2000)
    expect(fake.hits.filter((hit) => hit.status === 400)).toHaveLength(1) // only the direct probe above
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("streamed edits keep to the announced rate limit (no 429 earned), and a 429 is waited out and retried", async () => {
    // Two writes per second per channel: far below the edits a streamed answer wants.
    fake = createFakeDiscord({ limit: 2, windowMs: 1000 })
    await using ws = await workspace({
      config: demoConfig({ channels: [channel(fake, { editIntervalMs: 250 })] }, { delayMs: 40 }),
    })
    await using gw = await spawnGateway(ws.path)
    await identified(fake)
    const text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    fake.limitNext(1)
    fake.message(DM, OWNER, text)
    await fake.until(() => contents(fake!, DM).some((m) => m.includes(said(text))), 20_000, "the final answer")
    const writes = fake.hits.filter((hit) => hit.channelId === DM)
    const limited = writes.filter((hit) => hit.status === 429)
    expect(limited).toHaveLength(1) // the forced one
    // The refused write was sent again, after it.
    expect(writes.indexOf(limited[0]!)).toBeLessThan(writes.length - 1)
    expect(writes.filter((hit) => hit.status === 200).length).toBeGreaterThan(1)
    expect(fake.violations).toBe(0)
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("a dropped connection is resumed: what came meanwhile is replayed and answered once; a repeated dispatch is not answered again", async () => {
    fake = createFakeDiscord()
    await using ws = await workspace({ config: demoConfig({ channels: [channel(fake)] }) })
    await using gw = await spawnGateway(ws.path)
    await identified(fake)
    const first = fake.message(DM, OWNER, "before")
    await fake.until(() => contents(fake!, DM).some((m) => m.includes(said("before"))), 15_000, "the first answer")
    fake.drop()
    await fake.until(() => !fake!.connected, 5000, "the drop")
    fake.message(DM, OWNER, "during")
    await fake.until(() => fake!.resumes.length === 1 && fake!.connected, 15_000, "RESUME")
    await fake.until(() => contents(fake!, DM).some((m) => m.includes(said("during"))), 15_000, "the replayed answer")
    expect(fake.identifies).toHaveLength(1)
    fake.redeliver(first)
    fake.message(DM, OWNER, "after")
    await fake.until(() => contents(fake!, DM).some((m) => m.includes(said("after"))), 15_000, "the last answer")
    for (const text of ["before", "during", "after"])
      expect(contents(fake, DM).filter((m) => m.includes(said(text)))).toHaveLength(1)
    expect(await gw.stop()).toBe(0)
  }, 40_000)

  test("kill -9, a message while the gateway is down, restart: the stored Gateway session is resumed and the message answered", async () => {
    fake = createFakeDiscord()
    await using ws = await workspace({ config: demoConfig({ channels: [channel(fake)] }) })
    {
      await using gw = await spawnGateway(ws.path)
      await identified(fake)
      fake.message(DM, OWNER, "first")
      await fake.until(() => contents(fake!, DM).some((m) => m.includes(said("first"))), 15_000, "the first answer")
      await gw.kill9()
    }
    await fake.until(() => !fake!.connected, 5000, "the dead connection")
    fake.message(DM, OWNER, "while down")
    {
      await using gw = await spawnGateway(ws.path)
      await fake.until(() => contents(fake!, DM).some((m) => m.includes(said("while down"))), 15_000, "the answer")
      // Resumed, not identified afresh (a fresh IDENTIFY would have skipped the message).
      expect(fake.identifies).toHaveLength(1)
      expect(fake.resumes).toHaveLength(1)
      expect(contents(fake, DM).filter((m) => m.includes(said("first")))).toHaveLength(1)
      expect(await gw.stop()).toBe(0)
    }
  }, 40_000)

  test("INVALID_SESSION: a session Discord no longer knows is dropped and the bot identifies afresh", async () => {
    fake = createFakeDiscord()
    await using ws = await workspace({ config: demoConfig({ channels: [channel(fake)] }) })
    await using gw = await spawnGateway(ws.path)
    await identified(fake)
    fake.forgetSession()
    fake.drop()
    await fake.until(() => fake!.identifies.length === 2 && fake!.connected, 20_000, "a second IDENTIFY")
    expect(fake.resumes).toHaveLength(1)
    fake.message(DM, OWNER, "still there?")
    await fake.until(() => contents(fake!, DM).some((m) => m.includes(said("still there?"))), 15_000, "the answer")
    expect(await gw.stop()).toBe(0)
  }, 40_000)

  test("guilds: only a listed guild, only when mentioned, only allowed users; a thread is its own session", async () => {
    fake = createFakeDiscord()
    fake.channel(CHANNEL, 0, GUILD)
    fake.channel(THREAD, 11, GUILD, CHANNEL)
    fake.channel("1500000000000000099", 0, GUILD)
    await using ws = await workspace({
      config: demoConfig({ channels: [channel(fake, { guilds: [{ id: GUILD, channels: [CHANNEL] }] })] }),
    })
    await using gw = await spawnGateway(ws.path)
    await identified(fake)
    fake.message(CHANNEL, OWNER, "not addressed", { guildId: GUILD })
    fake.message(CHANNEL, OTHER, "from a stranger", { guildId: GUILD, mention: true })
    fake.message("1500000000000000099", OWNER, "unlisted channel", { guildId: GUILD, mention: true })
    fake.message(CHANNEL, OWNER, "unlisted guild", { guildId: "1500000000000000777", mention: true })
    fake.message(CHANNEL, OWNER, "in the channel", { guildId: GUILD, mention: true })
    fake.message(THREAD, OWNER, "in the thread", { guildId: GUILD, mention: true })
    await fake.until(() => contents(fake!, THREAD).some((m) => m.includes(said("in the thread"))), 15_000, "thread")
    await fake.until(() => contents(fake!, CHANNEL).some((m) => m.includes(said("in the channel"))), 15_000, "channel")
    // The mention is not part of what the agent reads; only the two addressed messages were answered.
    expect(contents(fake, CHANNEL)).toHaveLength(1)
    expect(fake.messages("1500000000000000099")).toHaveLength(0)
    const list = (await (await gw.api("/sessions?channel=discord")).json()) as { sessions: { title: string }[] }
    expect(list.sessions).toHaveLength(2)
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("Drost's commands are registered as slash commands; one answers by replacing its deferred reply", async () => {
    fake = createFakeDiscord()
    await using ws = await workspace({ config: demoConfig({ channels: [channel(fake)] }) })
    await using gw = await spawnGateway(ws.path)
    await fake.until(() => fake!.commands.length > 0, 15_000, "the command registration")
    const names = fake.commands.map((command) => command.name)
    for (const name of ["help", "status", "stop", "new", "sessions"]) expect(names).toContain(name)
    expect(names).not.toContain("quit")
    await identified(fake)
    fake.interaction(DM, OWNER, { command: "status" })
    await fake.until(() => contents(fake!, DM).some((m) => m.includes("state:")), 15_000, "the /status answer")
    // A stranger's command is refused, privately, and runs nothing.
    fake.interaction(DM, OTHER, { command: "new" })
    await fake.until(() => contents(fake!, DM).some((m) => m.includes("may not use")), 15_000, "the refusal")
    const list = (await (await gw.api("/sessions?channel=discord")).json()) as { sessions: unknown[] }
    expect(list.sessions).toHaveLength(0)
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("pairing: a stranger's code, approved with drost discord approve, lets them in", async () => {
    fake = createFakeDiscord()
    const STRANGER_DM = "1400000000000000222"
    await using ws = await workspace({ config: demoConfig({ channels: [channel(fake, { pairing: true })] }) })
    await using gw = await spawnGateway(ws.path)
    await identified(fake)
    fake.message(STRANGER_DM, OTHER, "hi?")
    await fake.until(() => contents(fake!, STRANGER_DM).some((m) => /\*\*[A-Z2-9]{8}\*\*/.test(m)), 15_000, "code")
    const code = contents(fake, STRANGER_DM)[0]!.match(/\*\*([A-Z2-9]{8})\*\*/)![1]!
    const wrong = await runCli(["discord", "approve", "ZZZZZZZZ"], { cwd: ws.path })
    expect(wrong.code).toBe(1)
    const approved = await runCli(["discord", "approve", code.toLowerCase()], { cwd: ws.path })
    expect(approved.code).toBe(0)
    expect(approved.stdout).toContain(`approved user ${OTHER}`)
    // The running gateway tells them.
    await fake.until(() => contents(fake!, STRANGER_DM).some((m) => m.includes("approved")), 15_000, "the note")
    fake.message(STRANGER_DM, OTHER, "now?")
    await fake.until(() => contents(fake!, STRANGER_DM).some((m) => m.includes(said("now?"))), 15_000, "the answer")
    const listed = await runCli(["discord", "pairings", "--json"], { cwd: ws.path })
    expect(JSON.parse(listed.stdout)).toMatchObject([{ userId: OTHER, approvedAt: expect.any(Number) }])
    expect(await gw.stop()).toBe(0)
  }, 40_000)

  test("an image attachment reaches the model as image input", async () => {
    fake = createFakeDiscord()
    const llm = await fakeOpenAI({ key: null })
    await using _llm = llm
    llm.queue(reply().text("a red pixel"))
    const profile = {
      id: "llm",
      kind: "openai-compatible",
      baseUrl: llm.baseUrl,
      model: "m",
      apiKeyEnv: "DISCORD_TEST_KEY",
    }
    await using ws = await workspace({
      config: demoConfig({ channels: [channel(fake)], providers: { profiles: [profile] } }),
    })
    await using gw = await spawnGateway(ws.path, { env: { DISCORD_TEST_KEY: "k" } })
    await identified(fake)
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])
    fake.message(DM, OWNER, "what is this?", { images: [{ type: "image/png", bytes: png }] })
    await fake.until(() => contents(fake!, DM).some((m) => m.includes("a red pixel")), 15_000, "the answer")
    const body = JSON.stringify(llm.requests("chat")[0]?.body ?? {})
    expect(body).toContain(Buffer.from(png).toString("base64"))
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("an unreachable Discord degrades only this channel, and the gateway still stops at once", async () => {
    await using ws = await workspace({
      config: demoConfig({
        channels: [{ kind: "discord", token: createFakeDiscord.defaultToken, apiRoot: "http://127.0.0.1:9/api" }],
      }),
    })
    await using gw = await spawnGateway(ws.path)
    await waitEvent(ws, "gateway.state", (data) =>
      (data.reasons as string[]).some((reason) => reason.startsWith("discord: cannot reach Discord")),
    )
    expect((await gw.api("/sessions")).status).toBe(200)
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("without the Message Content intent enabled, the channel says so in its health and nothing else stops", async () => {
    fake = createFakeDiscord({ messageContentEnabled: false })
    await using ws = await workspace({ config: demoConfig({ channels: [channel(fake)] }) })
    await using gw = await spawnGateway(ws.path)
    const state = await waitEvent(ws, "gateway.state", (data) =>
      (data.reasons as string[]).some((reason) => reason.includes("Message Content intent")),
    )
    expect((state.data.reasons as string[]).every((reason) => reason.startsWith("discord: "))).toBe(true)
    expect((await gw.api("/sessions")).status).toBe(200)
    expect(await gw.stop()).toBe(0)
  }, 30_000)
})
