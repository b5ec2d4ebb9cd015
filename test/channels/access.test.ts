import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { events, OWNER, telegramConfig, texts, waitEvent } from "./helpers.ts"

test("an allowed user gets an answer; a stranger never reaches the provider and gets nothing", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake) })
  await using gw = await spawnGateway(ws.path)
  fake.text(999, "hello from a stranger")
  fake.text(OWNER, "hello")
  await fake.waitFor(() => fake.chat(OWNER).find((message) => message.html?.includes("You said") && message.text.includes("hello")), 10_000, "owner's answer")
  await waitEvent(ws, "telegram.message.ignored", (data) => data.userId === 999)
  expect(fake.chat(999)).toEqual([])
  // Exactly one provider request: the owner's.
  await waitEvent(ws, "session.turn.completed")
  expect(events(ws).filter((event) => event.type === "provider.request").length).toBe(1)
  expect(fake.commands.map((command) => command.command)).toContain("new")
  expect(fake.callsOf("sendChatAction", OWNER).length).toBeGreaterThan(0)
  expect(texts(fake, OWNER).at(-1)).toContain('You said: "hello"')
  expect(await gw.stop()).toBe(0)
  fake.stop()
})
