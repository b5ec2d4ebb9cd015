/**
 * Several instances of a plugin's channel: each `channels` entry whose kind is a plugin channel's name
 * is an instance (`loop`, `loop#2`, …) with its own settings, checked with the plugin's schema, and its
 * own scope (inbox, pairings, conversations), access, health and state, as `discord#2` is for Discord.
 * Two Loop platforms here even answer with the same bot id: nothing of one instance leaks to the other.
 */
import { Database } from "bun:sqlite"
import { expect, test } from "bun:test"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { weakened } from "../../../src/evolve/guard.ts"
import { resolveConfig } from "../../../src/gateway/load.ts"
import { demoConfig } from "../../lib/config.ts"
import { spawnGateway } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"
import { startLoopPlatform } from "./loop-platform.ts"

const EXAMPLE = join(import.meta.dir, "../../../examples/plugin-channel-loop")
const ALICE = { id: "u-alice", name: "alice" }
const BOB = { id: "u-bob", name: "bob" }

async function until(probe: () => boolean | Promise<boolean>, what: string) {
  for (const deadline = Date.now() + 15_000; !(await probe()); await Bun.sleep(50))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
}

test("each channels entry of a plugin's kind is an instance with its own scope, access, pairing, health and state", async () => {
  const first = startLoopPlatform({ gapMs: 100 })
  const second = startLoopPlatform({ gapMs: 100 })
  try {
    await using ws = await workspace({
      config: demoConfig({
        plugins: ["plugin-channel-loop"],
        // No pluginConfig: the entries carry the settings.
        channels: [
          { kind: "loop", url: first.url, token: first.token, allowedUsers: [ALICE.id], editIntervalMs: 100 },
          { kind: "loop", url: second.url, token: second.token, allowedUsers: [BOB.id], pairing: true },
          { kind: "loop", url: second.url, token: "not-the-token" },
          { kind: "loop", token: "no url" },
          { kind: "nope" },
        ],
        // A schedule delivered by the second instance, to Bob's conversation on its platform.
        schedules: [
          { id: "ping", every: "2s", prompt: "scheduled ping", deliver: { channel: "loop#2", chat: `dm-${BOB.id}` } },
        ],
      }),
    })
    cpSync(EXAMPLE, join(ws.path, "node_modules/plugin-channel-loop"), { recursive: true })
    await using gw = await spawnGateway(ws.path)
    const reasons = async () => ((await (await gw.api("/healthz")).json()) as { reasons: string[] }).reasons
    await until(async () => (await reasons()).some((reason) => reason.startsWith("loop#3: ")), "loop#3's health")
    const found = await reasons()
    expect(found).toContain("loop#3: invalid bot token (Loop answered 401)")
    expect(found.find((reason) => reason.startsWith("loop#4: "))).toStartWith(
      "loop#4: not started: invalid settings: channels[3]",
    )
    expect(found.find((reason) => reason.startsWith("nope: "))).toContain('unknown channel kind "nope"')
    expect(found.some((reason) => /^loop(#2)?: /.test(reason))).toBe(false)

    // Alice is allowed on the first instance only; on the second she is a stranger and gets a code.
    first.message(ALICE, "hello one")
    second.message(ALICE, "hello two")
    second.message(BOB, "hi from bob")
    const texts = (fake: typeof first, user: { id: string }) => fake.messages(`dm-${user.id}`).map((m) => m.text)
    await until(() => texts(first, ALICE).some((text) => text.includes('You said: "hello one"')), "alice's answer")
    await until(() => texts(second, BOB).some((text) => text.includes('You said: "hi from bob"')), "bob's answer")
    await until(() => texts(second, ALICE).some((text) => /approve [A-Z2-9]{8}/.test(text)), "alice's code")
    expect(texts(second, ALICE).some((text) => text.includes("You said"))).toBe(false)

    // The schedule's result goes out through loop#2 only.
    await until(() => texts(second, BOB).some((text) => text.includes("scheduled ping")), "the delivery via loop#2")
    expect(texts(first, BOB)).toEqual([])
    // Two sessions, one per instance, though both platforms call their bot "b-loop".
    const list = (await (await gw.api("/sessions?channel=loop")).json()) as { sessions: unknown[] }
    expect(list.sessions).toHaveLength(2)
    expect(await gw.stop()).toBe(0)

    const db = new Database(join(ws.path, ".drost/drost.db"), { readonly: true })
    try {
      const keys = (
        db.query("SELECT key FROM kv WHERE key LIKE 'channel-state/%' ORDER BY key").all() as {
          key: string
        }[]
      ).map((row) => row.key)
      expect(keys).toEqual(["channel-state/plugin:loop#2/cursor", "channel-state/plugin:loop/cursor"])
      const scopes = (db.query("SELECT DISTINCT scope FROM channel_pairings").all() as { scope: string }[]).map(
        (row) => row.scope,
      )
      expect(scopes).toEqual(["loop:loop#2/b-loop"])
    } finally {
      db.close()
    }
  } finally {
    first.stop()
    second.stop()
  }
}, 40_000)

test("a plugin channel entry is kept apart from the built-in ones, and changing it is a guarded change", () => {
  const base = { providers: { profiles: [{ id: "demo", kind: "demo" }] }, plugins: ["plugin-channel-loop"] }
  const load = (raw: unknown) => resolveConfig(raw, "/ws", "/ws/drost.config.json")
  const config = load({ ...base, channels: [{ kind: "loop", url: "http://127.0.0.1:1", allowedUsers: ["a"] }] })
  expect(config.channels).toEqual([])
  expect(config.pluginChannels).toEqual([
    { kind: "loop", index: 0, settings: { url: "http://127.0.0.1:1", allowedUsers: ["a"] } },
  ])
  const widened = load({ ...base, channels: [{ kind: "loop", url: "http://127.0.0.1:1", allowedUsers: ["a", "b"] }] })
  expect(weakened(config, widened)).toEqual(["channels: changed (only the owner changes it, by hand)"])
  // A built-in kind is still checked by its own schema.
  expect(() => load({ ...base, channels: [{ kind: "telegram", tokn: "x" }] })).toThrow(/channels\[0\]/)
})
