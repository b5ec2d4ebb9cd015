/**
 * The channel contract suite's adapter for a channel that comes as a plugin: the example plugin
 * examples/plugin-channel-loop, installed by copy into the workspace's node_modules, speaking to "Loop",
 * a loopback chat platform (loop-platform.ts).
 */
import { expect } from "bun:test"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../../lib/config.ts"
import { runCli, spawnGateway } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"
import { startLoopPlatform } from "./loop-platform.ts"
import type { ContractAdapter, Who } from "./suite.ts"

export const EXAMPLE = join(import.meta.dir, "../../../examples/plugin-channel-loop")
export const USERS: Record<Who, { id: string; name: string }> = {
  owner: { id: "u-owner", name: "owner" },
  stranger: { id: "u-stranger", name: "stranger" },
}
export const dm = (user: Who) => `dm-${USERS[user].id}`
/** Loop's rate limit per conversation, and the channel's pacing (a short one: the cases run faster). */
export const GAP_MS = 300

export const loop: ContractAdapter = {
  kind: "loop",
  pairing: true,
  pairingCommand: "drost pairing approve",
  delivery: true,
  async start() {
    const fake = startLoopPlatform({ gapMs: GAP_MS })
    return {
      channel: () => null,
      config: (options) => ({
        plugins: ["plugin-channel-loop"],
        pluginConfig: {
          "plugin-channel-loop": {
            url: fake.url,
            token: options.badToken ? "not-the-token" : fake.token,
            allowedUsers: [USERS.owner.id],
            pairing: options.pairing === true,
            editIntervalMs: Math.max(GAP_MS, options.editIntervalMs ?? GAP_MS),
          },
        },
      }),
      prepare: (dir) => cpSync(EXAMPLE, join(dir, "node_modules/plugin-channel-loop"), { recursive: true }),
      limits: { messageChars: 2000, editIntervalMs: GAP_MS },
      send: (user, text) => fake.message(USERS[user], text),
      messages: (user) => fake.messages(dm(user)).map((message) => ({ text: message.text })),
      writes: (user) => fake.writes.filter((write) => write.conversation === dm(user)),
      approve(user) {
        const message = fake
          .messages(dm(user))
          .findLast((candidate) => candidate.buttons.flat().some((button) => button.data.endsWith(":a")))
        const button = message?.buttons.flat().find((candidate) => candidate.data.endsWith(":a"))
        if (!message || !button) return false
        fake.press(USERS[user], message, button.data)
        return true
      },
      chat: (user) => dm(user),
      stop: () => fake.stop(),
    }
  },
}

/**
 * A stranger approved with `drost pairing approve` (another process, through the store) is told so,
 * answered, and may use commands; `env` points the gateway and the CLI at the store (DROST_STORE_URL).
 */
export async function pairingByCli(env: Record<string, string> = {}) {
  const fake = startLoopPlatform({ gapMs: GAP_MS })
  try {
    const settings = { url: fake.url, token: fake.token, allowedUsers: [USERS.owner.id], pairing: true }
    await using ws = await workspace({
      config: demoConfig({ plugins: ["plugin-channel-loop"], pluginConfig: { "plugin-channel-loop": settings } }),
    })
    cpSync(EXAMPLE, join(ws.path, "node_modules/plugin-channel-loop"), { recursive: true })
    await using gw = await spawnGateway(ws.path, { env })
    const texts = () => fake.messages(dm("stranger")).map((message) => message.text)
    const until = async (probe: () => boolean, what: string) => {
      for (const deadline = Date.now() + 15_000; !probe(); await Bun.sleep(50))
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    }
    fake.message(USERS.stranger, "hello?")
    await until(() => texts().some((text) => /approve [A-Z2-9]{8}/.test(text)), "the code")
    // Loop's command box: refused for a stranger, the command not run.
    fake.command(USERS.stranger, "/new")
    await until(() => texts().includes("You may not use this bot here."), "the refusal")
    const code = texts()
      .join("\n")
      .match(/approve ([A-Z2-9]{8})/)![1]!
    const listed = await runCli(["pairing", "pairings"], { cwd: ws.path, env })
    expect(listed.stdout).toContain(`${code}  loop user ${USERS.stranger.id} (stranger)`)
    expect((await runCli(["pairing", "approve", code.toLowerCase()], { cwd: ws.path, env })).code).toBe(0)
    await until(() => texts().some((text) => text.includes("You're approved")), "the approval notice")
    fake.message(USERS.stranger, "now?")
    await until(() => texts().some((text) => text.includes('You said: "now?"')), "the answer")
    // Now a command from the command box runs in the conversation's session.
    fake.command(USERS.stranger, "/status")
    await until(() => texts().some((text) => text.includes("running turns: 0")), "/status from the command box")
    expect((await runCli(["pairing", "revoke", USERS.stranger.id], { cwd: ws.path, env })).stdout).toContain("revoked")
    expect(await gw.stop()).toBe(0)
  } finally {
    fake.stop()
  }
}
