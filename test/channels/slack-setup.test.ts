/**
 * `drost setup --slack`: the live check (auth.test with the bot token, apps.connections.open with the
 * app token) against the loopback fake, the tokens stored in .drost/auth-profiles.json, the channel in
 * the config; a rejected token stops setup with the reason, and the gateway started on the written
 * config answers a DM.
 */
import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { FakeSlack } from "../fake/slack.ts"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { waitEvent } from "./helpers.ts"

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

test("tokens from the environment (SLACK_APP_TOKEN, SLACK_BOT_TOKEN); without them the channel says which is missing", async () => {
  const fake = await FakeSlack.start()
  const config = demoConfig({ channels: [{ kind: "slack", apiUrl: fake.apiUrl, allowedUsers: ["U0OWNER"] }] })
  {
    await using ws = await workspace({ config })
    await using gw = await spawnGateway(ws.path, {
      env: { SLACK_APP_TOKEN: fake.appToken, SLACK_BOT_TOKEN: fake.botToken },
    })
    fake.message({ user: "U0OWNER", text: "from env" })
    await fake.waitFor(() => fake.chat("DU0OWNER").some((m) => m.text.includes('You said: "from env"')), "the answer")
    expect(await gw.stop()).toBe(0)
  }
  {
    await using ws = await workspace({ config })
    await using gw = await spawnGateway(ws.path, { env: { SLACK_APP_TOKEN: "", SLACK_BOT_TOKEN: "" } })
    const state = await waitEvent(ws, "gateway.state", (data) => (data.reasons as string[]).length > 0)
    expect(state.data.reasons).toEqual(["slack: no app-level token (xapp-…) in $SLACK_APP_TOKEN; see docs/slack.md"])
    expect(await gw.stop()).toBe(0)
  }
  fake.stop()
}, 40_000)
