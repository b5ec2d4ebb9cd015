/**
 * The store contract suite on the PostgreSQL engine (src/store/engine/postgres.ts) against a real server
 * started for this file (test/lib/postgres.ts), a fresh database per test. Skipped with the reason where
 * PostgreSQL is not installed; a failure in CI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { openStore } from "../../../src/store/engine/open.ts"
import { openPostgres, StoreUnreachable } from "../../../src/store/engine/postgres.ts"
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
