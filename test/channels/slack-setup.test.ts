/**
 * `drost setup --slack`: the live check (auth.test with the bot token, apps.connections.open with the
 * app token) against the loopback fake, the tokens stored in .drost/auth-profiles.json, the channel in
 * the config; a rejected token stops setup with the reason, and the gateway started on the written
 * config answers a DM.
 */
import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { FakeSlack } from "../fake/slack.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const args = (fake: FakeSlack, bot: string) => [
  "setup",
  "--yes",
  "--provider",
  "demo",
  "--port",
  "0",
  "--slack",
  "--slack-app-token",
  fake.appToken,
  "--slack-bot-token",
  bot,
  "--slack-owner",
  "U0OWNER",
  "--slack-api-url",
  fake.apiUrl,
]

test("drost setup --slack checks both tokens live, stores them, and the written config answers a DM", async () => {
  const fake = await FakeSlack.start()
  await using ws = await workspace()
  const refused = await runCli(args(fake, "xoxb-0-wrong"), { cwd: ws.path })
  expect(refused.code).not.toBe(0)
  expect(refused.stderr + refused.stdout).toContain("invalid_auth")
  const result = await runCli(args(fake, fake.botToken), { cwd: ws.path })
  expect(result.code).toBe(0)
  expect(result.stdout + result.stderr).toContain("@drost in Fake Team")
  expect(fake.calls.filter((call) => call.method === "auth.test").map((call) => call.status)).toEqual([
    "invalid_auth",
    "ok",
  ])
  const profiles = JSON.parse(readFileSync(ws.file(".drost/auth-profiles.json"), "utf8")).profiles
  expect(profiles.slack).toMatchObject({ kind: "slack", appToken: fake.appToken, botToken: fake.botToken })
  const config = readFileSync(ws.file("drost.config.ts"), "utf8")
  expect(config).toContain('"kind": "slack"')
  expect(config).not.toContain(fake.botToken)
  await using gw = await spawnGateway(ws.path)
  fake.message({ user: "U0OWNER", text: "hello" })
  await fake.waitFor(() => fake.chat("DU0OWNER").some((message) => message.text.includes("You said")), "the answer")
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)
