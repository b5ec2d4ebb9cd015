/**
 * The floor of `bench/turn-overhead.ts`: the least any gateway on this machine could do per turn. A bare
 * `Bun.serve` that, per request, commits one SQLite row (WAL, synchronous=NORMAL, as the gateway's
 * store) and makes one streaming fetch to the fake provider with the given body, reads the answer to
 * the end, and returns it. Run as its own process, like the gateway, and announces its port on stdout:
 *
 *   bun bench/floor.ts --upstream http://127.0.0.1:PORT/v1/chat/completions --body request.json --db floor.db
 */
import { Database } from "bun:sqlite"
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: { upstream: { type: "string" }, body: { type: "string" }, db: { type: "string" } },
})
if (!values.upstream || !values.body || !values.db)
  throw new Error("usage: bun bench/floor.ts --upstream URL --body FILE --db FILE")
const upstream = values.upstream
const body = readFileSync(values.body, "utf8")

const db = new Database(values.db, { create: true })
db.run("PRAGMA journal_mode = WAL")
db.run("PRAGMA synchronous = NORMAL")
db.run("CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, input TEXT NOT NULL, created_at INTEGER NOT NULL)")
const insert = db.prepare("INSERT INTO turns (input, created_at) VALUES (?, ?)")

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const input = await request.text()
    insert.run(input, Date.now())
    const answer = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer floor" },
      body,
    })
    return new Response(await answer.text(), { headers: { "content-type": "text/plain" } })
  },
})
process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.port}` })}\n`)
