import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { telegramConfig } from "./helpers.ts"

test("10 chats at once: a slow turn in one chat does not delay the others", async () => {
  const fake = await FakeTelegram.start()
  const users = Array.from({ length: 10 }, (_, index) => 201 + index)
  const slow = users[0]!
  const config = telegramConfig(
    fake,
    { allowedUsers: users },
    {},
    {
      providers: {
        profiles: [
          { id: "demo", kind: "demo" },
          { id: "slow", kind: "demo", delayMs: 80 },
        ],
      },
    },
  )
  await using ws = await workspace({ config })
  await using gw = await spawnGateway(ws.path)
  // The slow chat's session switches to the slow provider.
  fake.text(slow, "/new")
  await fake.waitFor(() => fake.chat(slow).find((message) => message.text.startsWith("new session")), 10_000, "/new")
  fake.text(slow, "/provider slow")
  await fake.waitFor(
    () => fake.chat(slow).find((message) => message.text.includes("switches to slow")),
    10_000,
    "/provider",
  )
  const start = Date.now()
  for (const user of users) fake.text(user, `question from ${user}`)
  const finals = new Map<number, number>()
  const answer = (user: number) =>
    fake
      .chat(user)
      .find((message) => message.html !== null && message.text.includes(`You said: "question from ${user}"`))
  await fake.waitFor(() => users.every((user) => answer(user)), 30_000, "all answers")
  for (const user of users) finals.set(user, answer(user)!.updatedAt - start)
  const slowAt = finals.get(slow)!
  const others = users.slice(1).map((user) => finals.get(user)!)
  console.log(`slow chat answered after ${slowAt} ms; others after ${Math.min(...others)}–${Math.max(...others)} ms`)
  expect(slowAt).toBeGreaterThan(3000)
  for (const at of others) expect(at).toBeLessThan(3000)
  // The slow chat was still working when every other chat had its answer.
  expect(Math.max(...others)).toBeLessThan(slowAt - 1000)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)
