/**
 * Where Telegram's and Discord's bot tokens are found (src/channels/tokens.ts): the config, then an auth
 * profile in .drost/auth-profiles.json, then the environment; each failure says which source it read
 * and where to look, and a malformed token is refused with its channel's hint.
 */
import { afterEach, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { resolveToken as discordToken } from "../../src/channels/discord/token.ts"
import { resolveToken as telegramToken } from "../../src/channels/telegram/token.ts"

const TELEGRAM = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr"
// The first part is base64 of a 18-digit id, as Discord's tokens are.
const DISCORD = `${btoa("112233445566778899").replace(/=+$/, "")}.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB`

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  delete process.env.DROST_TEST_TG_TOKEN
})
const stateDir = (profiles?: Record<string, { token?: string }>) => {
  const dir = mkdtempSync(join(tmpdir(), "drost-tokens-"))
  dirs.push(dir)
  if (profiles) writeFileSync(join(dir, "auth-profiles.json"), JSON.stringify({ profiles }))
  return dir
}

test("the config's token first, then the auth profile's, then the environment", () => {
  process.env.DROST_TEST_TG_TOKEN = TELEGRAM
  const dir = stateDir({ bot: { token: TELEGRAM } })
  expect(telegramToken({ kind: "telegram", token: ` ${TELEGRAM} ` } as never, dir)).toMatchObject({
    ok: true,
    token: TELEGRAM,
    botId: "123456789",
    source: "the config file",
  })
  expect(telegramToken({ kind: "telegram", authProfile: "bot" } as never, dir)).toMatchObject({
    ok: true,
    source: 'auth profile "bot"',
  })
  expect(telegramToken({ kind: "telegram", tokenEnv: "DROST_TEST_TG_TOKEN" } as never, dir)).toMatchObject({
    ok: true,
    source: "$DROST_TEST_TG_TOKEN",
  })
  expect(discordToken({ token: `Bot ${DISCORD}` }, dir)).toMatchObject({
    ok: true,
    token: DISCORD,
    botId: "112233445566778899",
  })
})

test("each miss names what it read and where to look", () => {
  const dir = stateDir({ other: { token: TELEGRAM } })
  expect(telegramToken({ kind: "telegram", authProfile: "bot" } as never, dir)).toEqual({
    ok: false,
    problem: `no token in auth profile "bot" (${join(dir, "auth-profiles.json")})`,
  })
  expect(telegramToken({ kind: "telegram", tokenEnv: "DROST_TEST_UNSET_TOKEN" } as never, dir)).toEqual({
    ok: false,
    problem:
      "no bot token: set DROST_TEST_UNSET_TOKEN (or tokenEnv / authProfile in the telegram channel config); see docs/telegram.md",
  })
  expect(discordToken({ tokenEnv: "DROST_TEST_UNSET_TOKEN" }, dir)).toEqual({
    ok: false,
    problem:
      "no bot token: set DROST_TEST_UNSET_TOKEN (or tokenEnv / authProfile in the discord channel config); see docs/discord.md",
  })
  expect(telegramToken({ kind: "telegram", token: "not-a-token" } as never, stateDir())).toEqual({
    ok: false,
    problem: "the bot token from the config file is malformed (expected <digits>:<secret> from @BotFather)",
  })
  expect(discordToken({ token: "nope" }, stateDir())).toMatchObject({ ok: false })
})
