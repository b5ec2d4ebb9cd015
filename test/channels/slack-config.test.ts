/** The slack entry of `channels` is checked like the rest of the config: path-bearing errors, defaults filled in. */
import { expect, test } from "bun:test"
import { resolveConfig } from "../../src/gateway/load.ts"
import { inlineSecrets } from "../../src/workspace/boundary.ts"

const load = (channel: Record<string, unknown>) =>
  resolveConfig({ channels: [{ kind: "slack", ...channel }] }, "/ws", "/ws/drost.config.json")
const problem = (channel: Record<string, unknown>) => {
  try {
    load(channel)
  } catch (error) {
    return String((error as Error).message)
  }
  return "accepted"
}

test("swapped or foreign tokens, bad ids and unknown keys are refused with the path", () => {
  expect(problem({ appToken: "xoxb-1", botToken: "xoxb-2" })).toContain("channels[0].appToken")
  expect(problem({ appToken: "xapp-1", botToken: "xapp-2" })).toContain("channels[0].botToken")
  expect(problem({ authProfile: "slack", botTokenEnv: "X" })).toContain("set either authProfile or the tokens")
  expect(problem({ allowedUsers: ["alice"] })).toContain("channels[0].allowedUsers[0]")
  expect(problem({ channels: { enabled: true } })).toContain("channels[0].channels.allowed")
  expect(problem({ token: "x" })).not.toBe("accepted")
})

test("defaults: DMs from allowed users only, channels off, 1.2 s between writes; inline tokens make the config secret", () => {
  const config = load({ allowedUsers: ["U0123ABCD"] })
  expect(config.channels?.[0]).toMatchObject({
    kind: "slack",
    pairing: false,
    editIntervalMs: 1200,
    channels: { enabled: false, allowed: [], members: "allowed" },
  })
  const secret = load({ appToken: "xapp-1-a", botToken: "xoxb-1-b" })
  expect(inlineSecrets({ ...secret, channels: secret.channels as never })).toEqual([
    "channels[0].appToken",
    "channels[0].botToken",
  ])
})
