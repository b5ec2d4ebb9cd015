/**
 * `drost doctor` runs each channel kind's live check from the contract (ChannelDefinition.check): here
 * Discord's GET /users/@me against the loopback fake, with the right token and with one it refuses.
 */
import { expect, test } from "bun:test"
import { createFakeDiscord } from "../../fake/discord.ts"
import { demoConfig } from "../../lib/config.ts"
import { runCli } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"

interface Check {
  name: string
  status: string
  detail: string
}

const checks = async (cwd: string) => {
  const result = await runCli(["doctor", "--json"], { cwd })
  return (JSON.parse(result.stdout) as { checks: Check[] }).checks
}

test("drost doctor: a Discord channel's live check passes with the bot's token and fails with a refused one", async () => {
  const fake = createFakeDiscord()
  try {
    const channel = { kind: "discord", apiRoot: fake.api, allowedUsers: ["1200000000000000111"] }
    {
      await using ws = await workspace({ config: demoConfig({ channels: [{ ...channel, token: fake.token }] }) })
      const check = (await checks(ws.path)).find((entry) => entry.name === "discord channel")
      expect(check?.status).toBe("ok")
    }
    {
      await using ws = await workspace({
        config: demoConfig({ channels: [{ ...channel, token: "MTIzNDU2Nzg5MDEyMzQ1Njc4.badx.not-the-bot-token" }] }),
      })
      const check = (await checks(ws.path)).find((entry) => entry.name === "discord channel")
      expect(check?.status).toBe("fail")
      expect(check?.detail).not.toContain("not-the-bot-token")
    }
  } finally {
    fake.stop()
  }
}, 30_000)
