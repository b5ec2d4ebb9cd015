/**
 * Existing installations keep their Discord, Slack and Telegram state when those channels moved onto
 * the shared channel store: the migration (SHARED_CHANNEL_TABLES_MIGRATION, an entry of src/store/db.ts) carries the
 * rows of the channels' old tables (created on first use, so possibly absent) into the shared tables,
 * where the host and `drost discord|slack pairings` read them, and drops the old tables.
 */
import type { Database } from "bun:sqlite"
import { expect, test } from "bun:test"
import { sharedPairings } from "../../../src/cli/pairing-cli.ts"
import { createDiscordStore } from "../../../src/channels/discord/store.ts"
import {
  createChannelStore,
  DISCORD_GATEWAY_MIGRATION,
  SHARED_CHANNEL_TABLES_MIGRATION,
} from "../../../src/store/channels.ts"
import { open } from "../../../src/store/db.ts"
import { sqliteStore } from "../../../src/store/engine/sqlite.ts"
import { createTelegramStore } from "../../../src/store/telegram.ts"

const tables = (db: Database) =>
  (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name)

/** A database as the last version before the move left it: the old tables with rows, as the channels wrote them. */
function oldDatabase(): Database {
  const db = open(":memory:")
  const now = Date.now()
  db.run(`CREATE TABLE discord_pairings (
    code TEXT PRIMARY KEY, bot_id TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    name TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER,
    notified_at INTEGER)`)
  db.prepare("INSERT INTO discord_pairings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)").run(
    "DISCAPPR",
    "4242",
    "1200000000000000777",
    "1400000000000000777",
    "stranger",
    now - 1000,
    now + 60_000,
    now - 500,
    now - 400,
  )
  db.prepare("INSERT INTO discord_pairings VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)").run(
    "DISCOPEN",
    "4242",
    "1200000000000000888",
    "1400000000000000888",
    "other",
    now - 1000,
    now + 60_000,
  )
  db.run(`CREATE TABLE slack_pairings (
    code TEXT PRIMARY KEY, scope TEXT NOT NULL, user_id TEXT NOT NULL, conversation TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER, notified_at INTEGER)`)
  db.prepare("INSERT INTO slack_pairings VALUES (?, ?, ?, ?, ?, ?, ?, NULL)").run(
    "SLCKAPPR",
    "T1:UBOT",
    "U0MEMBER",
    "DU0MEMBER",
    now - 1000,
    now + 60_000,
    now - 500,
  )
  db.run(`CREATE TABLE slack_inbox (
    scope TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
    received_at INTEGER NOT NULL, done_at INTEGER, PRIMARY KEY (scope, event_id))`)
  db.prepare("INSERT INTO slack_inbox VALUES (?, ?, ?, ?, NULL)").run("T1:UBOT", "Ev1", '{"text":"left over"}', now)
  db.prepare("INSERT INTO slack_inbox VALUES (?, ?, ?, ?, ?)").run("T1:UBOT", "Ev0", '{"text":"handled"}', now, now)
  db.run(`CREATE TABLE slack_conversations (
    scope TEXT NOT NULL, conversation TEXT NOT NULL, session_id TEXT NOT NULL, PRIMARY KEY (scope, conversation))`)
  db.prepare("INSERT INTO slack_conversations VALUES (?, ?, ?)").run("T1:UBOT", "DU0OWNER", "ses_slackowner")
  // Telegram's, as migration 3 made them.
  db.run(`CREATE TABLE telegram_inbox (
    bot_id TEXT NOT NULL, update_id INTEGER NOT NULL, payload TEXT NOT NULL, received_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, update_id))`)
  db.run(`CREATE TABLE telegram_chats (
    bot_id TEXT NOT NULL, chat_id INTEGER NOT NULL, session_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, chat_id))`)
  db.run(`CREATE TABLE telegram_pairings (
    code TEXT PRIMARY KEY, bot_id TEXT NOT NULL, user_id INTEGER NOT NULL, chat_id INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, approved_at INTEGER,
    notified_at INTEGER)`)
  for (const id of [11, 10])
    db.prepare("INSERT INTO telegram_inbox VALUES ('77', ?, ?, ?)").run(id, JSON.stringify({ update_id: id }), now)
  db.prepare("INSERT INTO telegram_chats VALUES ('77', -1001, 'ses_group', ?)").run(now)
  db.prepare("INSERT INTO telegram_pairings VALUES ('TGAPPROV', '77', 4242, 4242, 'ada', ?, ?, ?, ?)").run(
    now - 1000,
    now + 60_000,
    now - 500,
    now - 400,
  )
  db.prepare("INSERT INTO telegram_pairings VALUES ('TGOPENCO', '77', 4343, 4343, 'bob', ?, ?, NULL, NULL)").run(
    now - 1000,
    now + 60_000,
  )
  return db
}

test("the old Discord, Slack and Telegram rows are in the shared tables after the migration, the old tables gone", async () => {
  const db = oldDatabase()
  db.transaction(() => db.run(SHARED_CHANNEL_TABLES_MIGRATION)).immediate()
  for (const old of ["discord_pairings", "slack_pairings", "slack_inbox", "slack_conversations"])
    expect(tables(db)).not.toContain(old)
  const store = createChannelStore(db)
  // Discord: the approved user stays approved (and is not told again); the open code can still be approved.
  expect(store.approved("discord:4242", "1200000000000000777")).toBe(true)
  expect(store.unnotified("discord:4242")).toEqual([])
  expect((await sharedPairings("discord")(sqliteStore(db)).approve("discopen"))?.userId).toBe("1200000000000000888")
  expect(store.approved("discord:4242", "1200000000000000888")).toBe(true)
  // Slack: the approved member, not yet told, is told by the running channel.
  expect(store.approved("slack:T1:UBOT", "U0MEMBER")).toBe(true)
  expect(store.unnotified("slack:T1:UBOT").map((pairing) => pairing.conversation)).toEqual(["DU0MEMBER"])
  // The listing of `drost slack pairings` / `drost discord pairings` reads them.
  expect((await sharedPairings("slack")(sqliteStore(db)).list()).map((pairing) => pairing.code)).toEqual(["SLCKAPPR"])
  // Slack's inbox: what was left is handled after the upgrade; what was handled is still refused.
  expect(store.pending("slack:T1:UBOT")).toEqual([{ eventId: "Ev1", payload: { text: "left over" } }])
  expect(store.receive("slack:T1:UBOT", "Ev0", {})).toBe(false)
  // Slack's conversation → session, under the key its sessions carry as channelKey.
  expect(store.session("slack", "T1:UBOT|DU0OWNER")).toBe("ses_slackowner")
  // Telegram, through its own store's API: pairings, chats and the inbox's left-over updates, in order.
  const telegram = createTelegramStore(db)
  expect(telegram.approved("77", 4242)).toBe(true)
  expect(telegram.list().map((pairing) => [pairing.code, pairing.userId, pairing.chatId])).toEqual([
    ["TGAPPROV", 4242, 4242],
    ["TGOPENCO", 4343, 4343],
  ])
  expect(telegram.approve("tgopenco")).toMatchObject({ botId: "77", userId: 4343, chatId: 4343, name: "bob" })
  expect(telegram.session("77", -1001)).toBe("ses_group")
  expect(store.session("telegram", "77:-1001")).toBe("ses_group")
  expect(telegram.pending("77")).toEqual([{ update_id: 10 }, { update_id: 11 }])
  telegram.done("77", [10])
  expect(telegram.pending("77")).toEqual([{ update_id: 11 }])
  for (const old of ["telegram_pairings", "telegram_chats", "telegram_inbox"]) expect(tables(db)).not.toContain(old)
  expect(tables(db)).toContain("telegram_bots")
  db.close()
})

test("the migration runs on a database where the channels never ran (their tables absent)", () => {
  const db = open(":memory:")
  db.transaction(() => db.run(SHARED_CHANNEL_TABLES_MIGRATION)).immediate()
  expect(tables(db).filter((name) => /^(discord|slack)_|^telegram_(pairings|chats|inbox)$/.test(name))).toEqual([])
  expect(createChannelStore(db).pairings()).toEqual([])
  db.close()
})

test("Discord's Gateway session moves from its own table into channel state, where the channel resumes from it", async () => {
  const db = open(":memory:")
  const session = { sessionId: "abc", sequence: 41, resumeURL: "wss://resume.example", shardId: 0, shardCount: 1 }
  db.run(`CREATE TABLE discord_gateway (
    bot_id TEXT NOT NULL, shard INTEGER NOT NULL, session TEXT NOT NULL, PRIMARY KEY (bot_id, shard))`)
  db.prepare("INSERT INTO discord_gateway VALUES (?, ?, ?)").run("4242", 0, JSON.stringify(session))
  db.transaction(() => db.run(DISCORD_GATEWAY_MIGRATION)).immediate()
  expect(tables(db)).not.toContain("discord_gateway")
  const store = sqliteStore(db)
  expect(await createDiscordStore(store, "4242").gatewaySession(0)).toEqual(session)
  expect(await createDiscordStore(store, "4242").gatewaySession(1)).toBeNull()
  expect(await createDiscordStore(store, "9999").gatewaySession(0)).toBeNull()
  // A database that never had the table (Discord never used): nothing to carry, nothing left behind.
  const fresh = open(":memory:")
  fresh.transaction(() => fresh.run(DISCORD_GATEWAY_MIGRATION)).immediate()
  expect(tables(fresh)).not.toContain("discord_gateway")
})
