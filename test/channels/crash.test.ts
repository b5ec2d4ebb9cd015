import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, telegramConfig } from "./helpers.ts"

const answered = (fake: FakeTelegram, text: string) =>
  fake.chat(OWNER).filter((message) => message.html !== null && message.text.includes(`You said: "${text}"`))

test("kill -9 mid-conversation, restart: no update handled twice, none lost", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, {}, { delayMs: 20 }) })
  const sent = ["m1", "m2", "m3", "m4", "m5"]
  const ids = sent.map((text) => fake.text(OWNER, text))
  {
    await using gw = await spawnGateway(ws.path)
    await fake.waitFor(() => answered(fake, "m1").length === 1, 15_000, "answer to m1")
    // m2's turn is running: its typing action went out after m1's answer.
    const m1At = answered(fake, "m1")[0]!.at
    await fake.waitFor(() => fake.callsOf("sendChatAction", OWNER).some((call) => call.at >= m1At), 10_000, "m2 typing")
    await gw.kill9()
  }
  // Telegram was told about all five updates before the crash (they sit in the store's inbox).
  expect(fake.unconfirmed()).toBeLessThanOrEqual(5)
  const before = fake.calls.length
  {
    await using gw = await spawnGateway(ws.path)
    for (const text of ["m3", "m4", "m5"])
      await fake.waitFor(() => answered(fake, text).length >= 1, 15_000, `answer to ${text}`)
    const list = ((await (await gw.api("/sessions?channel=telegram")).json()) as { sessions: { id: string }[] })
      .sessions
    expect(list.length).toBe(1)
    const body = (await (await gw.api(`/sessions/${list[0]!.id}?limit=200`)).json()) as {
      messages: { role: string; parts: { type: string; text?: string }[] }[]
      turns: { status: string }[]
    }
    const users = body.messages
      .filter((message) => message.role === "user")
      .map((message) => message.parts.map((part) => part.text ?? "").join(""))
    // None lost, none twice, in order.
    expect(users).toEqual(sent)
    expect(body.turns.map((turn) => turn.status).sort()).toEqual([
      "completed",
      "completed",
      "completed",
      "completed",
      "interrupted",
    ])
    // Every answered message got exactly one final answer; the interrupted one none.
    for (const text of ["m1", "m3", "m4", "m5"]) expect(answered(fake, text).length).toBe(1)
    expect(answered(fake, "m2").length).toBe(0)
    // After the restart, polling resumed past every update: nothing was fetched again.
    const polls = () => fake.calls.slice(before).filter((call) => call.method === "getUpdates")
    await fake.waitFor(() => polls().length > 0, 10_000, "polling after the restart")
    expect(Number(polls()[0]!.params.offset)).toBe(ids.at(-1)! + 1)
    expect(fake.delivered.filter((id) => id === ids[0]).length).toBe(1)
    expect(await gw.stop()).toBe(0)
  }
  fake.stop()
}, 60_000)
