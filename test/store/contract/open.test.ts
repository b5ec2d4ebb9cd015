/** Choosing the store engine (src/store/engine/open.ts): config store.url, DROST_STORE_URL, SQLite by default. */
import { afterEach, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { join } from "node:path"
import { chooseStore, openStore } from "../../../src/store/engine/open.ts"

afterEach(() => {
  delete process.env.DROST_STORE_URL
})

test("no URL: SQLite at the given path, with the contract", async () => {
  const file = join(mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "open-")), "drost.db")
  const store = await openStore({ sqlitePath: file, owner: "gw-1" })
  expect(store.engine).toBe("sqlite")
  expect(store.owner).toBe("gw-1")
  expect(await store.sessions.count()).toBe(0)
  await store.close()
  expect(chooseStore({ sqlitePath: file })).toMatchObject({ engine: "sqlite", shown: file, from: "default" })
})

test("a postgres:// URL selects PostgreSQL; DROST_STORE_URL wins over store.url; the password is never shown", () => {
  const config = "postgres://drost:config-secret@db.example:5433/drost"
  expect(chooseStore({ url: config, sqlitePath: "x.db" })).toMatchObject({
    engine: "postgres",
    shown: "postgres://drost@db.example:5433/drost",
    from: "store.url",
  })
  process.env.DROST_STORE_URL = "postgresql://other:env-secret@10.0.0.9/drost"
  const chosen = chooseStore({ url: config, sqlitePath: "x.db" })
  expect(chosen).toMatchObject({
    engine: "postgres",
    shown: "postgresql://other@10.0.0.9:5432/drost",
    from: "DROST_STORE_URL",
  })
  expect(chosen.shown).not.toContain("secret")
})

test("a URL that is not PostgreSQL's is refused, saying what is expected, without its secret", () => {
  for (const url of ["mysql://root:hunter2@db:3306/x", "sqlite:drost.db", "just words"]) {
    let message = ""
    try {
      chooseStore({ url, sqlitePath: "/state/drost.db" })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain("must be a postgres://user@host:port/database URL")
    expect(message).toContain("/state/drost.db")
    expect(message).not.toContain("hunter2")
  }
})
