import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { events, OWNER, telegramConfig, texts, waitEvent } from "./helpers.ts"

test("an allowed user gets an answer; a stranger never reaches the provider and gets nothing", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake) })
  await using gw = await spawnGateway(ws.path)
  fake.text(999, "hello from a stranger")
  fake.text(OWNER, "@drost_test_bot hi", { id: -300, title: "a group" })
  fake.text(OWNER, "hello")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.html?.includes("You said") && message.text.includes("hello")),
    10_000,
    "owner's answer",
  )
  await waitEvent(ws, "telegram.message.ignored", (data) => data.userId === 999)
  expect(fake.chat(999)).toEqual([])
  await waitEvent(
    ws,
    "telegram.message.ignored",
    (data) => data.chatId === -300 && data.reason === "groups are disabled",
  )
  // Exactly one provider request: the owner's.
  await waitEvent(ws, "session.turn.completed")
  expect(events(ws).filter((event) => event.type === "provider.request").length).toBe(1)
  expect(fake.commands.map((command) => command.command)).toContain("new")
  expect(fake.callsOf("sendChatAction", OWNER).length).toBeGreaterThan(0)
  expect(texts(fake, OWNER).at(-1)).toContain('You said: "hello"')
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("pairing: a stranger gets a one-time code and nothing else; approval by CLI or Control API lets them in", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { pairing: true }) })
  await using gw = await spawnGateway(ws.path)
  fake.text(555, "hi, who are you?")
  const offer = await fake.waitFor(
    () => fake.chat(555).find((message) => message.text.includes("drost telegram approve")),
    10_000,
    "pairing code",
  )
  const code = offer.text.match(/approve ([A-Z0-9]{8})/)![1]!
  expect(offer.html).toContain(`<code>drost telegram approve ${code}</code>`)
  fake.text(555, "please?")
  await waitEvent(ws, "telegram.pairing.requested", (data) => data.userId === 555 && data.created === false)
  expect(fake.chat(555).length).toBe(1)
  expect(events(ws).filter((event) => event.type === "provider.request").length).toBe(0)

  const wrong = await runCli(["telegram", "approve", "ZZZZZZZZ"], { cwd: ws.path })
  expect(wrong.code).toBe(1)
  expect(wrong.stderr).toContain("no open pairing")
  const approved = await runCli(["telegram", "approve", code.toLowerCase()], { cwd: ws.path })
  expect(approved.stderr).toBe("")
  expect(approved.stdout).toContain("approved user 555")
  await fake.waitFor(
    () => fake.chat(555).find((message) => message.text.includes("approved")),
    10_000,
    "approval notice",
  )
  fake.text(555, "now?")
  await fake.waitFor(
    () => fake.chat(555).find((message) => message.text.includes('You said: "now?"')),
    10_000,
    "answer after approval",
  )
  expect((await runCli(["telegram", "approve", code], { cwd: ws.path })).code).toBe(1)

  // The same through the Control API.
  fake.text(556, "hello")
  const second = await fake.waitFor(
    () => fake.chat(556).find((message) => message.text.includes("drost telegram approve")),
    10_000,
    "second code",
  )
  const code2 = second.text.match(/approve ([A-Z0-9]{8})/)![1]!
  const listed = (await (await gw.api("/telegram/pairings")).json()) as { pairings: { code: string; userId: number }[] }
  expect(listed.pairings.find((pairing) => pairing.userId === 556)?.code).toBe(code2)
  expect((await gw.api("/telegram/pairings/NOPE1234/approve", { method: "POST" })).status).toBe(404)
  const response = await gw.api(`/telegram/pairings/${code2}/approve`, { method: "POST" })
  expect(response.status).toBe(200)
  await fake.waitFor(
    () => fake.chat(556).find((message) => message.text.includes("approved")),
    10_000,
    "API approval notice",
  )
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

test("groups: off by default; when enabled only listed groups, only when mentioned or replied to, only allowed members", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { groups: { enabled: true, allowed: [-100] } }) })
  await using gw = await spawnGateway(ws.path)
  const mention = (text: string) => ({
    entities: [{ type: "mention", offset: 0, length: "@drost_test_bot".length }],
    text: `@drost_test_bot ${text}`,
  })
  fake.text(OWNER, "no mention here", { id: -100, title: "team" })
  fake.push({
    message: {
      message_id: 1,
      date: 0,
      from: { id: OWNER, is_bot: false, first_name: "O" },
      chat: { id: -200, type: "group", title: "other" },
      ...mention("wrong group"),
    },
  })
  fake.push({
    message: {
      message_id: 2,
      date: 0,
      from: { id: 777, is_bot: false, first_name: "S" },
      chat: { id: -100, type: "group", title: "team" },
      ...mention("stranger"),
    },
  })
  fake.push({
    message: {
      message_id: 3,
      date: 0,
      from: { id: OWNER, is_bot: false, first_name: "O" },
      chat: { id: -100, type: "group", title: "team" },
      ...mention("ping"),
    },
  })
  await fake.waitFor(
    () => fake.chat(-100).find((message) => message.text.includes('You said: "ping"')),
    10_000,
    "group answer",
  )
  for (const reason of ["not addressed to the bot", "group not allowed", "group member not allowed"])
    await waitEvent(ws, "telegram.message.ignored", (data) => data.reason === reason)
  expect(fake.chat(-200)).toEqual([])
  // The answer is attached to the question in a group.
  expect(fake.callsOf("sendMessage", -100)[0]!.params.reply_parameters).toMatchObject({ message_id: 3 })
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)
