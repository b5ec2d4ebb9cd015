/**
 * Group rules of a plugin channel beyond the flat allow-list: `groups.spaces` (Discord's guilds,
 * generalised) lists per space the groups the bot answers in (none listed: all of them) and who, and a
 * thread is judged as the group it is in. The Loop example passes its `groups` setting through; the
 * loopback Loop platform sends group messages with their group, space, thread and mention.
 */
import { expect, test } from "bun:test"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../../lib/config.ts"
import { spawnGateway } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"
import { events } from "../helpers.ts"
import { startLoopPlatform } from "./loop-platform.ts"

const EXAMPLE = join(import.meta.dir, "../../../examples/plugin-channel-loop")
const OWNER = { id: "u-owner", name: "owner" }
const GUEST = { id: "u-guest", name: "guest" }

async function until(probe: () => boolean, what: string) {
  for (const deadline = Date.now() + 15_000; !probe(); await Bun.sleep(50))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
}

test("a plugin channel answers in groups by space rules and the flat list; threads count as their group", async () => {
  const fake = startLoopPlatform({ gapMs: 100 })
  try {
    const groups = {
      enabled: true,
      allowed: ["g-ops"], // in any space: allowed users only (the default)
      spaces: [
        { id: "s-team", groups: ["g-general"], members: "all" },
        { id: "s-open", members: "allowed" }, // every group of the space, allowed users only
      ],
    }
    const settings = { url: fake.url, token: fake.token, allowedUsers: [OWNER.id], editIntervalMs: 100, groups }
    await using ws = await workspace({
      config: demoConfig({ plugins: ["plugin-channel-loop"], pluginConfig: { "plugin-channel-loop": settings } }),
    })
    cpSync(EXAMPLE, join(ws.path, "node_modules/plugin-channel-loop"), { recursive: true })
    await using gw = await spawnGateway(ws.path)
    await until(() => fake.logins > 0, "the plugin's login")
    const answered = (conversation: string, text: string) =>
      fake.messages(conversation).some((message) => message.text.includes(`You said: "${text}"`))
    const ignored = () => events(ws).filter((event) => event.type === "loop.message.ignored")

    // Refused: a group the space does not list; a guest where only allowed users count; not mentioned;
    // a group outside every rule.
    fake.groupMessage(GUEST, { space: "s-team", group: "g-random" }, "r1", true)
    fake.groupMessage(GUEST, { space: "s-open", group: "g-any" }, "r2", true)
    fake.groupMessage(OWNER, { space: "s-team", group: "g-general" }, "r3", false)
    fake.groupMessage(OWNER, { group: "g-elsewhere" }, "r4", true)
    fake.groupMessage(GUEST, { space: "s-other", group: "g-ops" }, "r5", true)
    await until(() => ignored().length === 5, "five refusals")
    expect(Object.fromEntries(ignored().map((event) => [event.data.conversation, event.data.reason]))).toEqual({
      "g-random": "group not allowed",
      "g-any": "group member not allowed",
      "g-general": "not addressed to the bot",
      "g-elsewhere": "group not allowed",
      "g-ops": "group member not allowed",
    })

    // Answered: anyone in the space's listed group, and in a thread of it; the owner in any group of
    // s-open; the owner in g-ops (the flat list) from any space.
    fake.groupMessage(GUEST, { space: "s-team", group: "g-general" }, "a1", true)
    fake.groupMessage(GUEST, { space: "s-team", group: "g-general", thread: "t-1" }, "a2", true)
    fake.groupMessage(OWNER, { space: "s-open", group: "g-any" }, "a3", true)
    fake.groupMessage(OWNER, { space: "s-other", group: "g-ops" }, "a4", true)
    await until(() => answered("g-general", "a1"), "a1")
    await until(() => answered("t-1", "a2"), "a2 in its thread")
    await until(() => answered("g-any", "a3"), "a3")
    await until(() => answered("g-ops", "a4"), "a4")
    // Nothing refused answered meanwhile.
    for (const [conversation, text] of [
      ["g-random", "r1"],
      ["g-general", "r3"],
      ["g-elsewhere", "r4"],
    ] as const)
      expect(answered(conversation, text)).toBe(false)
    expect(ignored()).toHaveLength(5)
    // A session per conversation: the thread has its own.
    const list = (await (await gw.api("/sessions?channel=loop")).json()) as { sessions: unknown[] }
    expect(list.sessions).toHaveLength(4)
    expect(await gw.stop()).toBe(0)
  } finally {
    fake.stop()
  }
}, 40_000)
