/**
 * The channels on a gateway whose store is PostgreSQL (DROST_STORE_URL, a fresh database per case on a
 * real server, test/lib/postgres.ts): the Telegram bot (src/channels/telegram/bot.ts), Discord and
 * Slack (on host.ts; with DROST_PG_ALL_CHANNELS=1) and a plugin channel (plugin-host.ts over host.ts, the
 * example Loop plugin) pass the channel contract suite, kill -9 included; a pairing approved from the CLI (another process)
 * reaches the running plugin channel through the database; and what the Telegram bot keeps (its inbox,
 * a chat's session, a pairing) is read back from PostgreSQL, with no SQLite file for it in the
 * workspace. Skipped with the reason outside CI when PostgreSQL is not installed; CI fails instead.
 */
import { expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { openPostgres } from "../../../src/store/engine/postgres.ts"
import { FakeTelegram } from "../../fake/telegram.ts"
import { spawnGateway } from "../../lib/gateway.ts"
import { postgresPerFile, postgresSkip } from "../../lib/postgres.ts"
import { workspace } from "../../lib/workspace.ts"
import { OWNER, telegramConfig, texts, waitEvent } from "../helpers.ts"
import { discord } from "./discord-adapter.ts"
import { loop, pairingByCli } from "./loop-adapter.ts"
import { slack } from "./slack-adapter.ts"
import { contractSuite } from "./suite.ts"
import { telegram } from "./telegram-adapter.ts"

const skip = postgresSkip()
if (!skip) {
  const pg = postgresPerFile()
  /** One database per workspace: a case's gateways (the kill -9 case starts two) share it. */
  const databases = new Map<string, Promise<string>>()
  const database = (dir: string) => {
    const url = databases.get(dir) ?? pg.server.database()
    databases.set(dir, url)
    return url
  }
  const options = { engine: "PostgreSQL", env: async (dir: string) => ({ DROST_STORE_URL: await database(dir) }) }

  // The Telegram bot has its own code path (telegram/bot.ts); Discord, Slack and plugin channels share the
  // channel host (host.ts), which the Loop plugin exercises through plugin-host.ts. Discord's and Slack's
  // own code is the same on either engine (their contract suites run on SQLite): set
  // DROST_PG_ALL_CHANNELS=1 to run them here too (about a minute more).
  contractSuite(telegram, options)
  contractSuite(loop, options)
  if (process.env.DROST_PG_ALL_CHANNELS === "1") {
    contractSuite(discord, options)
    contractSuite(slack, options)
  }

  test("a plugin channel's stranger approved with `drost pairing approve` through PostgreSQL is answered", async () => {
    await pairingByCli({ DROST_STORE_URL: await pg.server.database() })
  }, 30_000)

  test("the Telegram bot's inbox, chats and pairings are in PostgreSQL, not in a SQLite file", async () => {
    const url = await pg.server.database()
    const fake = await FakeTelegram.start()
    const stranger = 777
    const bot = String(fake.bot.id)
    try {
      await using ws = await workspace({ config: telegramConfig(fake, { pairing: true }) })
      {
        await using gw = await spawnGateway(ws.path, { env: { DROST_STORE_URL: url } })
        fake.text(OWNER, "hello from the owner")
        await waitEvent(ws, "session.turn.completed")
        for (let i = 0; i < 300 && !texts(fake, OWNER).some((text) => text.includes("hello from the owner")); i++)
          await Bun.sleep(50)
        fake.text(stranger, "let me in")
        for (let i = 0; i < 300 && !texts(fake, stranger).some((text) => /approve [A-Z2-9]{8}/.test(text)); i++)
          await Bun.sleep(50)
        // A command reads the chat's session through the store: /session names the one the message used.
        fake.text(OWNER, "/session")
        for (let i = 0; i < 300 && !texts(fake, OWNER).some((text) => text.includes("current session:")); i++)
          await Bun.sleep(50)
        expect(await gw.stop()).toBe(0)
      }
      const store = await openPostgres(url)
      try {
        const sessionId = await store.telegram.session(bot, OWNER)
        expect(sessionId).not.toBeNull()
        const session = await store.sessions.get(sessionId!)
        expect([session?.channel, session?.channelKey]).toEqual(["telegram", `${bot}:${OWNER}`])
        expect(texts(fake, OWNER).join("\n")).toContain(`current session: ${sessionId}`)
        // Every update handled: the message with its turn, the refusal and the command after their answers.
        expect(await store.telegram.pending(bot)).toEqual([])
        expect(await store.telegram.offset(bot)).toBeGreaterThan(0)
        const code = texts(fake, stranger)
          .join("\n")
          .match(/approve ([A-Z2-9]{8})/)?.[1]
        expect((await store.telegram.list()).map((pairing) => [pairing.code, pairing.userId])).toEqual([
          [code!, stranger],
        ])
      } finally {
        await store.close()
      }
      expect(existsSync(join(ws.path, ".drost", "drost.db"))).toBe(false)
    } finally {
      fake.stop()
    }
  }, 40_000)
} else test.skip(`the channels on PostgreSQL (skipped: ${skip})`, () => {})
