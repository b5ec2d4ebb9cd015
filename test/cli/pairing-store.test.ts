/**
 * The stores behind `drost <channel> approve|pairings|revoke` (src/cli/pairing-cli.ts, telegram.ts) on
 * the store contract, on both engines: SQLite (a file, as openStore opens it) and a real PostgreSQL
 * (test/lib/postgres.ts; skipped with the reason where it is not installed, a failure in CI).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { join } from "node:path"
import { sharedPairings } from "../../src/cli/pairing-cli.ts"
import { telegramPairings } from "../../src/cli/telegram.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { type PostgresServer, postgresSkip, startPostgres } from "../lib/postgres.ts"

const skip = postgresSkip()
let server: PostgresServer | null = null

beforeAll(async () => {
  if (!skip) server = await startPostgres()
}, 60_000)
afterAll(async () => {
  await server?.stop()
}, 30_000)

const engines: [string, () => Promise<Store>][] = [
  [
    "sqlite",
    async () => openSqlite(join(mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "pair-")), "drost.db")),
  ],
  ["postgres", async () => openPostgres(await server!.database(), { max: 2 })],
]

for (const [engine, open] of engines)
  describe(`pairing commands' stores (${engine})`, () => {
    const run = skip && engine === "postgres" ? test.skip : test
    run("Telegram: approve a code (any case), list it, revoke the user", async () => {
      const store = await open()
      try {
        const issued = await store.telegram.pairingFor({ botId: "77", userId: 4242, chatId: 4242, name: "ann" })
        const pairings = telegramPairings(store)
        expect(await pairings.approve("NOSUCHCD")).toBeNull()
        expect(await pairings.approve(issued!.pairing.code.toLowerCase())).toMatchObject({ userId: 4242, chatId: 4242 })
        expect(await store.telegram.approved("77", 4242)).toBe(true)
        expect((await pairings.list()).map((pairing) => pairing.userId)).toEqual([4242])
        expect(await pairings.revoke(4242)).toBe(1)
        expect(await store.telegram.approved("77", 4242)).toBe(false)
      } finally {
        await store.close()
      }
    })

    run("shared: a kind approves only its own codes; revoke ends the user's approvals of that kind", async () => {
      const store = await open()
      try {
        const discord = await store.channels.pairingFor({
          scope: "discord:1",
          userId: "u1",
          conversation: "c1",
          name: "x",
        })
        const slack = await store.channels.pairingFor({
          scope: "slack:T:B",
          userId: "u1",
          conversation: "D1",
          name: "",
        })
        expect(await sharedPairings("slack")(store).approve(discord!.pairing.code)).toBeNull()
        expect(await sharedPairings("discord")(store).approve(discord!.pairing.code)).toMatchObject({ userId: "u1" })
        expect(await sharedPairings()(store).approve(slack!.pairing.code)).toMatchObject({ scope: "slack:T:B" })
        expect((await sharedPairings()(store).list()).map((pairing) => pairing.scope).sort()).toEqual([
          "discord:1",
          "slack:T:B",
        ])
        expect(await sharedPairings("discord")(store).revoke("u1")).toBe(1)
        expect(await store.channels.approved("discord:1", "u1")).toBe(false)
        expect(await store.channels.approved("slack:T:B", "u1")).toBe(true)
      } finally {
        await store.close()
      }
    })
  })
