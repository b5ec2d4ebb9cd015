/**
 * Store faults on a running gateway (issue 14, items 4–6): the disk fills (SQLite's own size cap,
 * PRAGMA max_page_count via DROST_DB_MAX_PAGES, answers SQLITE_FULL exactly like a full disk; plus one
 * real size-limited tmpfs when running as root), the database is damaged (truncated, header
 * overwritten, a page in the middle overwritten), and `.drost/` is deleted while the gateway runs.
 * Every request must answer, with a JSON error that says what to do, the gateway must say `degraded`
 * with the reason, stop cleanly, and lose nothing it acknowledged.
 */
import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { execFileSync } from "node:child_process"
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs"
import { join } from "node:path"
import { open } from "../../src/store/db.ts"
import { createSessionStore } from "../../src/store/sessions.ts"
import { type RunningGateway, runCli, spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"

const BIG = `${"All work and no play makes a very long file. ".repeat(40)}\n`.repeat(40) // ≈ 72 KB
const config = { providers: { profiles: [{ id: "demo", kind: "demo" }] }, controlApi: { port: 0 } }

/** A turn must answer within this (far more than any of these takes; a hang fails instead of timing out the suite). */
const ANSWER_MS = 10_000

async function turn(gw: RunningGateway, sessionId: string, input: string) {
  const response = await gw.api(`/sessions/${sessionId}/turn`, {
    method: "POST",
    json: { input },
    signal: AbortSignal.timeout(ANSWER_MS),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function session(gw: RunningGateway): Promise<string> {
  const response = await gw.api("/sessions", { method: "POST", json: {} })
  expect(response.status).toBe(201)
  return ((await response.json()) as { id: string }).id
}

async function healthz(gw: RunningGateway) {
  const response = await gw.api("/healthz")
  return (await response.json()) as { state: string; reasons: string[] }
}

/** Resolves when the gateway publishes the state `want` (the event stream, not a poll). */
async function stateEvent(gw: RunningGateway, want: string, signal = AbortSignal.timeout(15_000)) {
  const response = await gw.api("/events", { headers: { accept: "text/event-stream" }, signal })
  return {
    done: (async () => {
      for await (const event of readSse(response)) {
        const data = event.data as { type?: string; data?: { state?: string } } & { state?: string }
        const state = data?.data?.state ?? data?.state
        if (event.event === "gateway.state" && state === want) return true
      }
      return false
    })(),
  }
}

/** SIGTERM must end the gateway within 10 s with exit 0. */
async function cleanStop(gw: RunningGateway) {
  const code = await Promise.race([gw.stop(), Bun.sleep(10_000).then(() => "hung past 10 s")])
  expect(code).toBe(0)
}

describe("disk full", () => {
  test("SQLITE_FULL (size cap): every request answers, the turn fails with the cause, 507, degraded, clean stop, recovery, nothing acknowledged lost", async () => {
    await using ws = await workspace({ config, files: { "big.txt": BIG } })
    // First run without a cap: a session holding a big message, whose deletion frees space later.
    let freeable = ""
    {
      await using gw = await spawnGateway(ws.path)
      freeable = await session(gw)
      expect((await turn(gw, freeable, `keep this: ${BIG}`)).body.status).toBe("completed")
      await cleanStop(gw)
    }
    // The cap clamps to the file's current size: the database cannot grow by a single page.
    await using gw = await spawnGateway(ws.path, { env: { DROST_DB_MAX_PAGES: "1" } })
    const id = await session(gw)
    const acknowledged: string[] = []

    // The disk fills during the turn: the tool result cannot be stored.
    const during = await turn(gw, id, "read big.txt")
    expect(during.status).toBe(200)
    expect(during.body.status).toBe("failed")
    expect(String(during.body.reason)).toContain("is full")
    acknowledged.push(String(during.body.turnId))
    const stored = (await (await gw.api(`/sessions/${id}`)).json()) as { turns: { id: string; status: string }[] }
    expect(stored.turns.find((each) => each.id === during.body.turnId)?.status).toBe("failed")
    const health = await healthz(gw)
    expect(health.state).toBe("degraded")
    expect(health.reasons.join("\n")).toMatch(/store: .*is full/)

    // Already full: a message that does not fit is refused, clearly, and not acknowledged.
    const refused = await turn(gw, id, `too big to store: ${BIG}`)
    expect(refused.status).toBe(507)
    expect(refused.body.error).toBe("InsufficientStorage")
    expect(String(refused.body.message)).toContain("free some space")

    // Space returns (a big session deleted): the gateway says so by itself, and turns run again.
    const running = await stateEvent(gw, "running")
    expect((await gw.api(`/sessions/${freeable}`, { method: "DELETE" })).status).toBe(200)
    expect(await running.done).toBe(true)
    const after = await turn(gw, id, "hello again")
    expect(after.body.status).toBe("completed")
    acknowledged.push(String(after.body.turnId))
    await cleanStop(gw)

    const db = new Database(ws.file(".drost/drost.db"), { readonly: true })
    const turns = db.query("SELECT id, status FROM turns WHERE session_id = ?").all(id) as {
      id: string
      status: string
    }[]
    for (const turnId of acknowledged) expect(turns.find((each) => each.id === turnId)).toBeDefined()
    expect(turns.filter((each) => each.status === "running" || each.status === "queued")).toEqual([])
    db.close()
  }, 60_000)

  const root = process.getuid?.() === 0
  test.skipIf(!root)(
    "a real disk filling during a turn (tmpfs, as root): the turn answers failed, 507 while full, its end is written and turns run when space returns",
    async () => {
      const mount = mkdtempSync("/tmp/store-tmpfs-")
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mount])
      } catch (error) {
        console.warn(`skipped: cannot mount a tmpfs here (${(error as Error).message.split("\n")[0]})`)
        rmSync(mount, { recursive: true, force: true })
        return
      }
      try {
        // Chunks 40 ms apart, so the disk can fill between the turn's start and its answer.
        await using ws = await workspace({
          config: { ...config, providers: { profiles: [{ id: "demo", kind: "demo", delayMs: 40 }] } },
        })
        const filler = join(mount, "filler")
        await using gw = await spawnGateway(ws.path, { env: { DROST_DB: join(mount, "drost.db") } })
        const id = await session(gw)
        const events = await gw.api("/events", {
          headers: { accept: "text/event-stream" },
          signal: AbortSignal.timeout(15_000),
        })
        const streaming = (async () => {
          for await (const event of readSse(events)) if (event.event === "session.turn.delta") return
        })()
        const answer = turn(gw, id, "hello")
        await streaming
        try {
          execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" })
        } catch {
          // dd ends with "No space left on device": that is the point
        }
        const during = await answer
        expect(during.status).toBe(200)
        expect(during.body.status).toBe("failed")
        expect(String(during.body.reason)).toContain("is full")
        expect((await healthz(gw)).state).toBe("degraded")
        const refused = await turn(gw, id, `fill: ${BIG}`)
        expect(refused.status).toBe(507)
        expect(refused.body.error).toBe("InsufficientStorage")

        const running = await stateEvent(gw, "running")
        rmSync(filler)
        expect(await running.done).toBe(true)
        const read = (await (await gw.api(`/sessions/${id}`)).json()) as { turns: { id: string; status: string }[] }
        expect(read.turns.find((each) => each.id === during.body.turnId)?.status).toBe("failed")
        expect((await turn(gw, id, "space is back")).body.status).toBe("completed")
        await cleanStop(gw)
        const db = new Database(join(mount, "drost.db"), { readonly: true })
        const stored = db.query("SELECT status FROM turns WHERE id = ?").get(String(during.body.turnId)) as {
          status: string
        }
        db.close()
        expect(stored.status).toBe("failed")
      } finally {
        execFileSync("umount", ["-l", mount])
        rmSync(mount, { recursive: true, force: true })
      }
    },
    60_000,
  )
})

/** A database with `sessions` sessions of `messages` messages each (about 1.2 KB per message). */
function seed(file: string, sessions: number, messages: number): string[] {
  const db = open(file)
  const store = createSessionStore(db)
  const ids: string[] = []
  const text = "a stored message of a conversation ".repeat(32)
  db.transaction(() => {
    for (let s = 0; s < sessions; s++) {
      const one = store.create({ provider: "demo", title: `session ${s}` })
      ids.push(one.id)
      for (let m = 0; m < messages; m++)
        store.append({ sessionId: one.id, turnId: null, role: "user", parts: [{ type: "text", text }] })
    }
  })()
  db.run("PRAGMA wal_checkpoint(TRUNCATE)")
  db.close()
  return ids
}

/** Overwrite `count` pages of the `messages` table, from its middle, with garbage. */
function corruptMessagePages(file: string, count: number) {
  const db = new Database(file, { readonly: true })
  const page = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size
  const pages = (
    db.query("SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf' ORDER BY pageno").all() as {
      pageno: number
    }[]
  ).map((row) => row.pageno)
  db.close()
  const fd = openSync(file, "r+")
  const start = Math.floor(pages.length / 2)
  for (const pageno of pages.slice(start, start + count))
    writeSync(fd, Buffer.alloc(page, 0xa5), 0, page, (pageno - 1) * page)
  closeSync(fd)
}

describe("corrupt database", () => {
  const cases: [string, (file: string) => void][] = [
    ["truncated", (file) => truncateSync(file, Math.floor(statSync(file).size / 2) + 100)],
    [
      "header overwritten",
      (file) => {
        const fd = openSync(file, "r+")
        writeSync(fd, Buffer.from("this is not a sqlite file at all, sorry!"), 0, 40, 0)
        closeSync(fd)
      },
    ],
    ["a page in the middle overwritten (small file: quick_check at start)", (file) => corruptMessagePages(file, 1)],
  ]
  for (const [name, damage] of cases) {
    test(`${name}: drost start refuses once with exit 78, naming the file and the fix; doctor --repair recovers`, async () => {
      await using ws = await workspace({ config })
      const file = ws.file(".drost/drost.db")
      const ids = seed(file, 4, 60)
      damage(file)
      const started = await runCli(["start"], { cwd: ws.path, timeoutMs: 20_000 })
      expect(started.code).toBe(78)
      expect(started.stderr).toContain(file)
      expect(started.stderr).toContain("drost doctor --repair")
      expect(started.stderr).not.toContain("restarting in")

      const repaired = await runCli(["doctor", "--repair"], { cwd: ws.path })
      expect(repaired.stdout).toContain("the damaged file is kept as")
      const kept = readdirSync(ws.file(".drost")).filter((each) => each.startsWith("drost.db.corrupt-"))
      expect(kept.length).toBeGreaterThan(0)
      const db = new Database(file, { readonly: true })
      expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok")
      const messages = (db.query("SELECT count(*) AS n FROM messages").get() as { n: number }).n
      db.close()
      if (name !== "header overwritten") expect(messages).toBeGreaterThan(0)
      expect(messages).toBeLessThanOrEqual(ids.length * 60)

      await using gw = await spawnGateway(ws.path)
      expect((await healthz(gw)).state).toBe("running")
      await cleanStop(gw)
    }, 60_000)
  }

  test("damage deep in a large file met at run time: the reads answer 503 with the fix and the gateway turns degraded", async () => {
    await using ws = await workspace({ config })
    const file = ws.file(".drost/drost.db")
    // Past the quick_check size at start (8 MB): only the header and the schema are checked.
    const ids = seed(file, 8, 1000)
    expect(statSync(file).size).toBeGreaterThan(8 * 1024 * 1024)
    corruptMessagePages(file, 40)
    await using gw = await spawnGateway(ws.path)
    const statuses: number[] = []
    let body: Record<string, unknown> = {}
    for (const id of ids) {
      const response = await gw.api(`/sessions/${id}?limit=500`)
      statuses.push(response.status)
      if (response.status !== 200) body = (await response.json()) as Record<string, unknown>
    }
    expect(statuses).toContain(503)
    expect(statuses).not.toContain(500)
    expect(body.error).toBe("Unavailable")
    expect(String(body.message)).toContain("drost doctor --repair")
    const health = await healthz(gw)
    expect(health.state).toBe("degraded")
    expect(health.reasons.join("\n")).toContain("is damaged")
    await cleanStop(gw)
  }, 60_000)
})

describe(".drost/ deleted while running", () => {
  test("the next turn is refused with 503 and the reason, the gateway is degraded, and no acknowledged turn is lost at the next start", async () => {
    await using ws = await workspace({ config })
    let id = ""
    const acknowledged: string[] = []
    {
      await using gw = await spawnGateway(ws.path)
      id = await session(gw)
      for (let i = 0; i < 5; i++) {
        const done = await turn(gw, id, `message ${i}`)
        expect(done.body.status).toBe("completed")
        acknowledged.push(String(done.body.turnId))
      }
      rmSync(ws.file(".drost"), { recursive: true, force: true })
      const refused = await turn(gw, id, "after the folder is gone")
      expect(refused.status).toBe(503)
      expect(refused.body.error).toBe("Unavailable")
      expect(String(refused.body.message)).toContain("deleted or replaced")
      const health = await healthz(gw)
      expect(health.state).toBe("degraded")
      expect(health.reasons.join("\n")).toContain("deleted or replaced")
      await cleanStop(gw)
    }
    expect(existsSync(ws.file(".drost/drost.db"))).toBe(true)
    await using gw = await spawnGateway(ws.path)
    const turns = (await (await gw.api(`/sessions/${id}`)).json()) as { turns: { id: string; status: string }[] }
    for (const turnId of acknowledged) expect(turns.turns.find((each) => each.id === turnId)?.status).toBe("completed")
    await cleanStop(gw)
  }, 60_000)
})
