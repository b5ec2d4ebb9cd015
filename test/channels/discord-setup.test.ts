/**
 * `drost setup --discord`: the live check (GET /users/@me with the bot token) against the loopback
 * fake, the token stored in .drost/auth-profiles.json, the channel in the config; a rejected token
 * stops setup with the reason, and the gateway started on the written config answers a DM.
 */
import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { createFakeDiscord } from "../fake/discord.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const OWNER = "1200000000000000111"
const DM = "1400000000000000111"

test("drost setup --discord checks the token live, stores it, and the written config answers a DM", async () => {
  const fake = createFakeDiscord()
  const args = (token: string) => [
    "setup",
    "--yes",
    "--provider",
    "demo",
    "--port",
    "0",
    "--discord-token",
    token,
    "--discord-owner",
    OWNER,
    "--discord-api-root",
    fake.api,
  ]
  await using ws = await workspace()
  const refused = await runCli(args("MTIzNDU2Nzg5MDEyMzQ1Njc4.badx.not-the-bot-token"), { cwd: ws.path })
  expect(refused.code).not.toBe(0)
  expect(refused.stderr + refused.stdout).toContain("401")
  const result = await runCli(args(fake.token), { cwd: ws.path })
  expect(result.code).toBe(0)
  expect(result.stdout + result.stderr).toContain("Discord bot: @drostbot")
  expect(fake.hits.filter((hit) => hit.path.endsWith("/users/@me")).map((hit) => hit.status)).toEqual([401, 200])
  const profiles = JSON.parse(readFileSync(ws.file(".drost/auth-profiles.json"), "utf8")).profiles
  expect(profiles.discord).toMatchObject({ kind: "discord", token: fake.token })
  const config = readFileSync(ws.file("drost.config.ts"), "utf8")
  expect(config).toContain('"kind": "discord"')
  expect(config).not.toContain(fake.token)
  await using gw = await spawnGateway(ws.path)
  await fake.until(() => fake.identifies.length > 0, 15_000, "IDENTIFY")
  fake.message(DM, OWNER, "hello")
  await fake.until(
    () => fake.messages(DM).some((message) => message.content.includes("You said")),
    15_000,
    "the answer",
  )
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)
