/**
 * A plugin channel's durable state (`ctx.state`): the example plugin keeps Loop's event cursor there, so
 * after kill -9 the next run reads on after it instead of from the start (Loop then hands nothing twice),
 * the way Discord resumes its Gateway session or Telegram keeps its getUpdates offset.
 */
import { expect, test } from "bun:test"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { createChannelStore, MAX_STATE_CHARS } from "../../../src/store/channels.ts"
import { open } from "../../../src/store/db.ts"
import { demoConfig } from "../../lib/config.ts"
import { spawnGateway } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"
import { startLoopPlatform } from "./loop-platform.ts"

const EXAMPLE = join(import.meta.dir, "../../../examples/plugin-channel-loop")
const OWNER = { id: "u-owner", name: "owner" }

async function until(probe: () => boolean, what: string) {
  for (const deadline = Date.now() + 15_000; !probe(); await Bun.sleep(50))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
}

test("a plugin channel's state survives kill -9: the next run reads on after the stored cursor", async () => {
  const fake = startLoopPlatform({ gapMs: 100 })
  try {
    const settings = { url: fake.url, token: fake.token, allowedUsers: [OWNER.id], editIntervalMs: 100 }
    await using ws = await workspace({
      config: demoConfig({ plugins: ["plugin-channel-loop"], pluginConfig: { "plugin-channel-loop": settings } }),
    })
    cpSync(EXAMPLE, join(ws.path, "node_modules/plugin-channel-loop"), { recursive: true })
    const answered = (text: string) =>
      fake.messages(`dm-${OWNER.id}`).some((message) => message.text.includes(`You said: "${text}"`))
    let firstRun = 0
    {
      await using gw = await spawnGateway(ws.path)
      fake.message(OWNER, "one")
      fake.message(OWNER, "two")
      await until(() => answered("two"), "the answers of the first run")
      await until(() => fake.pending() === 0, "the cursor past both")
      firstRun = fake.polls.length
      await gw.kill9()
    }
    {
      await using gw = await spawnGateway(ws.path)
      fake.message(OWNER, "three")
      await until(() => answered("three"), "the answer of the second run")
      // The second run's first read starts after the first run's two events, not from the start.
      expect(fake.polls[firstRun]).toBe(2)
      // So the first run's events were handed out once ("three" may count twice: the killed run's open
      // long poll was still waiting when it arrived).
      expect([...fake.delivered.values()].slice(0, 2)).toEqual([1, 1])
      expect(await gw.stop()).toBe(0)
    }
  } finally {
    fake.stop()
  }
}, 40_000)

test("channel state: JSON values per scope, undefined deletes, large values refused", () => {
  const db = open(":memory:")
  const store = createChannelStore(db)
  store.stateSet("plugin:loop", "cursor", { bot: "b1", cursor: 7 })
  store.stateSet("plugin:loop#2", "cursor", { bot: "b2", cursor: 1 })
  expect(store.stateGet("plugin:loop", "cursor")).toEqual({ bot: "b1", cursor: 7 })
  expect(store.stateGet("plugin:loop#2", "cursor")).toEqual({ bot: "b2", cursor: 1 })
  expect(store.stateGet("plugin:loop", "missing")).toBeUndefined()
  store.stateSet("plugin:loop", "cursor", 8)
  expect(store.stateGet("plugin:loop", "cursor")).toBe(8)
  store.stateSet("plugin:loop", "cursor", undefined)
  expect(store.stateGet("plugin:loop", "cursor")).toBeUndefined()
  expect(() => store.stateSet("plugin:loop", "big", "x".repeat(MAX_STATE_CHARS))).toThrow(RangeError)
  db.close()
})
