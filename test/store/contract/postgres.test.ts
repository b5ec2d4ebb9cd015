/**
 * The store contract suite on the PostgreSQL engine (src/store/engine/postgres.ts) against a real server
 * started for this file (test/lib/postgres.ts), a fresh database per test. Skipped with the reason where
 * PostgreSQL is not installed; a failure in CI.
 */

import { Database } from "bun:sqlite"
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { join } from "node:path"
import { SQL } from "bun"
import { openStore } from "../../../src/store/engine/open.ts"
import { openPostgres, StoreUnreachable } from "../../../src/store/engine/postgres.ts"
import { PG_MIGRATIONS } from "../../../src/store/engine/postgres-migrations.ts"
import { openSqlite } from "../../../src/store/engine/sqlite.ts"
import { type PostgresServer, postgresSkip, startPostgres } from "../../lib/postgres.ts"
import { contractSuite } from "./suite.ts"

const skip = postgresSkip()
let server: PostgresServer
/** A database migrated once; each test gets a copy (CREATE DATABASE … TEMPLATE), not a migration of its own. */
let migrated: string

if (skip) test.skip(`PostgreSQL store contract (skipped: ${skip})`, () => {})
else {
  beforeAll(async () => {
    server = await startPostgres()
    const url = await server.database()
    await (await openPostgres(url, { max: 1 })).close()
    migrated = new URL(url).pathname.slice(1)
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  }, 30_000)

  contractSuite({
    engine: "postgres",
    async fresh() {
      const url = await server.database(migrated)
      return { store: await openPostgres(url, { max: 4 }), again: (owner) => openPostgres(url, { max: 4, owner }) }
    },
  })

  describe("opening a PostgreSQL store", () => {
    test("a server that is not there: the error names host:port, never the password", async () => {
      const error = await openPostgres("postgres://drost:hunter2secret@127.0.0.1:1/drost", {
        connectionTimeout: 2,
      }).then(
        () => null,
        (e) => e,
      )
      expect(error).toBeInstanceOf(StoreUnreachable)
      expect(error.message).toContain("127.0.0.1:1")
      expect(error.message).not.toContain("hunter2secret")
    })

    test("a database that does not exist, and a URL that is not postgres://", async () => {
      const missing = await openPostgres(server.url("nosuchdb")).catch((e) => e)
      expect(missing).toBeInstanceOf(StoreUnreachable)
      expect(missing.message).toContain(`127.0.0.1:${server.port}/nosuchdb`)
      expect(missing.message).toContain("does not exist")
      const wrong = await openPostgres("mysql://root:pw@db:3306/x").catch((e) => e)
      expect(wrong.message).toContain("expected a postgres:// URL")
      expect(wrong.message).not.toContain("pw@")
    })

    test("DROST_STORE_URL selects this server over store.url and SQLite", async () => {
      process.env.DROST_STORE_URL = await server.database(migrated)
      try {
        const store = await openStore({
          url: "postgres://nobody@127.0.0.1:1/none",
          sqlitePath: "/nonexistent/drost.db",
        })
        expect(store.engine).toBe("postgres")
        expect(await store.sessions.count()).toBe(0)
        await store.close()
      } finally {
        delete process.env.DROST_STORE_URL
      }
    })

    test("one schema shape: the same tables and columns as SQLite, but for each engine's own", async () => {
      const file = join(mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "shape-")), "drost.db")
      // Opened through the SQLite engine (which adds the contract's own session_leases), read as a file.
      await openSqlite(file).close()
      const lite = new Database(file)
      const sqliteColumns = new Map<string, string[]>()
      // SQLite's own: the memory index (per node) and the FTS5 tables of message search.
      for (const { name } of lite
        .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all())
        if (!/^(memory_|messages_fts)/.test(name))
          sqliteColumns.set(
            name,
            lite
              .query<{ name: string }, []>(`PRAGMA table_info(${name})`)
              .all()
              .map((c) => c.name)
              .sort(),
          )
      lite.close()
      const pg = new SQL(await server.database(migrated), { max: 1 })
      const pgColumns = new Map<string, string[]>()
      for (const row of await pg`SELECT table_name, column_name FROM information_schema.columns
                                 WHERE table_schema = 'public' ORDER BY table_name, column_name`) {
        // PostgreSQL's own: the schema version, the event-id sequence, and the columns standing in for
        // rowid (n) and FTS5 (body, tsv).
        if (row.table_name === "drost_schema" || row.table_name === "event_ids") continue
        if (["n", "body", "tsv"].includes(row.column_name)) continue
        pgColumns.set(row.table_name, [...(pgColumns.get(row.table_name) ?? []), row.column_name])
      }
      await pg.close()
      expect([...pgColumns.keys()].sort()).toEqual([...sqliteColumns.keys()].sort())
      for (const [table, columns] of sqliteColumns)
        expect({ table, columns: pgColumns.get(table)! }).toEqual({ table, columns })
    })

    test("migration 2 carries a version-1 database's Telegram tables into the shared channel tables", async () => {
      const url = await server.database()
      const old = new SQL(url, { max: 1 })
      await old.begin(async (tx) => {
        await tx.unsafe(PG_MIGRATIONS[0]!)
        await tx`CREATE TABLE drost_schema (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), version INTEGER NOT NULL)`
        await tx`INSERT INTO drost_schema (version) VALUES (1)`
        await tx`INSERT INTO telegram_bots (bot_id, next_offset) VALUES ('bot', 12)`
        await tx`INSERT INTO telegram_inbox (bot_id, update_id, payload, received_at) VALUES
                 ('bot', 11, '{"update_id":11}', 2), ('bot', 9, '{"update_id":9}', 1)`
        await tx`INSERT INTO telegram_chats (bot_id, chat_id, session_id, updated_at) VALUES ('bot', -5, 'ses_x', 1)`
        await tx`INSERT INTO telegram_pairings (code, bot_id, user_id, chat_id, name, created_at, expires_at, approved_at)
                 VALUES ('ABCDEFGH', 'bot', 7, -5, 'Ann', 1, 2, 1)`
      })
      await old.close()
      const store = await openPostgres(url, { max: 2 })
      try {
        expect(await store.telegram.offset("bot")).toBe(12)
        expect(await store.telegram.pending("bot")).toEqual([{ update_id: 9 }, { update_id: 11 }])
        expect(await store.telegram.session("bot", -5)).toBe("ses_x")
        expect(await store.telegram.approved("bot", 7)).toBe(true)
        expect((await store.channels.pairings("telegram:")).map((p) => [p.code, p.userId, p.conversation])).toEqual([
          ["ABCDEFGH", "7", "-5"],
        ])
        const check = new SQL(url, { max: 1 })
        const left =
          await check`SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'telegram%' ORDER BY 1`
        await check.close()
        // telegram_replies (owed replies) is a later migration's, Telegram's own like telegram_bots.
        expect(left.map((row: { table_name: string }) => row.table_name)).toEqual(["telegram_bots", "telegram_replies"])
      } finally {
        await store.close()
      }
    })

    test("notices: the listening connection killed, the listener is subscribed again and hears the next notify", async () => {
      const url = await server.database(migrated)
      const [a, b] = [await openPostgres(url, { max: 2 }), await openPostgres(url, { max: 2 })]
      try {
        const got: string[] = []
        let arrived: () => void = () => {}
        let listens = 0
        let relistened: () => void = () => {}
        const again = new Promise<void>((done) => {
          relistened = done
        })
        await a.notices.listen(
          "drost.turns",
          (payload) => {
            got.push(payload)
            arrived()
          },
          () => {
            if (++listens === 2) relistened()
          },
        )
        const admin = new SQL(url, { max: 1 })
        const killed = await admin`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
                                   WHERE datname = current_database() AND query ILIKE 'LISTEN%'`
        await admin.close()
        expect(killed.map((row: { ok: boolean }) => row.ok)).toEqual([true])
        await again
        const heard = new Promise<void>((done) => {
          arrived = done
        })
        await b.notices.notify("drost.turns", "after the reconnect")
        await heard
        expect(got).toEqual(["after the reconnect"])
      } finally {
        await a.close()
        await b.close()
      }
    })

    test("portable: a session exported from SQLite imports into PostgreSQL and exports back the same rows", async () => {
      const file = join(mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "portable-")), "drost.db")
      const lite = openSqlite(file)
      const pg = await openPostgres(await server.database(migrated), { max: 2 })
      try {
        const session = await lite.sessions.create({ provider: "demo", title: "Across engines" })
        const { turn } = await lite.sessions.beginTurn({
          sessionId: session.id,
          parts: [{ type: "text", text: "hello" }],
          source: "api",
        })
        const usage = { input: 5, output: 2, cached: 0 }
        await lite.sessions.startTurn(turn.id, "p1")
        await lite.sessions.append({
          sessionId: session.id,
          turnId: turn.id,
          role: "assistant",
          parts: [{ type: "text", text: "searchable answer" }],
          provider: "p1",
          usage,
        })
        await lite.sessions.finishTurn({
          id: turn.id,
          sessionId: session.id,
          status: "completed",
          usage,
          steps: 1,
          toolCalls: 0,
          messages: 1,
        })
        const from = await lite.portable.export(session.id)
        const { sessionId } = await pg.portable.import(from)
        const back = await pg.portable.export(sessionId)
        // What an import gives anew: ids, seqs, the session's updated_at and metadata.importedFrom.
        const strip = (doc: typeof from) => ({
          session: { ...doc.session, id: null, updated_at: null, metadata: null },
          messages: doc.messages.map((m) => ({ ...m, id: null, seq: null, session_id: null, turn_id: null })),
          turns: doc.turns.map((t) => ({ ...t, id: null, session_id: null })),
          summaries: doc.summaries,
        })
        expect(strip(back)).toEqual(strip(from))
        expect(JSON.parse(String(back.session.metadata))).toEqual({ importedFrom: session.id })
        // Imported messages are searchable on PostgreSQL (its body column is written from the parts).
        expect((await pg.search.search({ text: "searchable", limit: 10 })).map((hit) => hit.sessionId)).toEqual([
          sessionId,
        ])
        // And back into SQLite: the same again.
        const again = await lite.portable.export((await lite.portable.import(back)).sessionId)
        expect(strip(again)).toEqual(strip(from))
      } finally {
        await lite.close()
        await pg.close()
      }
    })

    test("migrations run once: two stores opening the same new database together", async () => {
      const url = await server.database()
      const [a, b] = await Promise.all([openPostgres(url, { max: 2 }), openPostgres(url, { max: 2 })])
      await a.sessions.create({ provider: "demo" })
      expect(await b.sessions.count()).toBe(1)
      await a.close()
      await b.close()
    })
  })
}
