/**
 * Channel faults from the runtime audit (issue 14): a Bot API that answers getUpdates at once, and
 * strangers who try to use up the pairing codes. Each runs the real gateway against the fake Bot API.
 */
import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, telegramConfig } from "../channels/helpers.ts"

/** getUpdates calls the fake saw during the next `ms` (a measuring window, not a wait for an event). */
async function pollsDuring(fake: FakeTelegram, ms: number): Promise<number> {
  const before = fake.callsOf("getUpdates").length
  await Bun.sleep(ms)
  return fake.callsOf("getUpdates").length - before
}

test("a Bot API that answers getUpdates at once is polled at most a few times a second, and errors back off", async () => {
  const fake = await FakeTelegram.start()
  fake.instant = true
  await using ws = await workspace({ config: telegramConfig(fake, { pollTimeoutSec: 30 }) })
  await using gw = await spawnGateway(ws.path)
  await fake.waitFor(() => fake.callsOf("getUpdates").length >= 2, 10_000, "polling")
  // 1,273–3,557 a second in the audit (telegram-test-api); the pause after an empty answer allows 2.
  const idle = await pollsDuring(fake, 1000)
  console.log(`idle polls in 1 s against an instant Bot API: ${idle}`)
  expect(idle).toBeLessThanOrEqual(4)
  expect(idle).toBeGreaterThanOrEqual(1)

  // Messages still arrive promptly and are answered exactly once (the fake confirms by offset).
  fake.text(OWNER, "still there?")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes('"still there?"')),
    10_000,
    "answer",
  )

  // Fast failures back off: 250 ms, 500 ms, 1 s, ... so a second holds only a few attempts.
  fake.fail("getUpdates", { raw: 502 }, 100)
  await fake.waitFor(() => fake.callsOf("getUpdates").some((call) => call.status === 502), 5000, "a failure")
  const failing = await pollsDuring(fake, 1000)
  console.log(`polls in 1 s while getUpdates fails at once: ${failing}`)
  expect(failing).toBeLessThanOrEqual(4)
  expect(fake.chat(OWNER).filter((message) => message.text.includes('"still there?"')).length).toBe(1)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)
