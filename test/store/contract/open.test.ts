/** Choosing the store engine (src/store/engine/open.ts): config store.url, DROST_STORE_URL, SQLite by default. */
import { afterEach, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { join } from "node:path"
import { chooseStore, openStore } from "../../../src/store/engine/open.ts"
import { demoConfig } from "../../lib/config.ts"
import { runCli } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"

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

test("a gateway asked for a PostgreSQL it cannot reach refuses to start, naming host:port but never the password; a URL of another kind is refused by doctor", async () => {
  // A loopback port nobody listens on.
  const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = closed.port
  closed.stop(true)
  const url = `postgres://drost:hunter2@127.0.0.1:${port}/drost`
  await using ws = await workspace({ config: demoConfig({ store: { url } }) })
  // The supervisor tries again (a server that is down may come back), then gives up: about 5 s.
  const start = await runCli(["start"], { cwd: ws.path, timeoutMs: 25_000 })
  expect(start.code).not.toBe(0)
  expect(start.stdout + start.stderr).toContain(
    `cannot open the PostgreSQL store at postgres://drost@127.0.0.1:${port}/drost`,
  )
  expect(start.stdout + start.stderr).not.toContain("hunter2")
  // Nothing was written for the store on SQLite meanwhile.
  expect(await Bun.file(`${ws.path}/.drost/drost.db`).exists()).toBe(false)
  const doctor = await runCli(["doctor"], { cwd: ws.path, env: { DROST_STORE_URL: "mysql://x@db/drost" } })
  expect(doctor.code).not.toBe(0)
  expect(doctor.stdout + doctor.stderr).toContain("DROST_STORE_URL: expected a postgres://")
  // Without either, the same workspace starts on SQLite: the refusal is the URL's alone.
  await using plain = await workspace({ config: demoConfig() })
  const ok = await runCli(["doctor"], { cwd: plain.path })
  expect(ok.stdout + ok.stderr).not.toContain("store.url")
}, 30_000)
