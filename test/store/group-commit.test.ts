import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { statSync } from "node:fs"
import { join } from "node:path"
import { NotFound } from "../../src/core/error.ts"
import type { Part } from "../../src/core/message.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { workspace } from "../lib/workspace.ts"

const text = (value: string): Part[] => [{ type: "text", text: value }]
const end = (turn: { id: string; sessionId: string }) => ({
  id: turn.id,
  sessionId: turn.sessionId,
  status: "completed" as const,
  usage: { input: 1, output: 1, cached: 0 },
  steps: 1,
  toolCalls: 0,
  messages: 1,
})

describe("group commit of the SQLite store's turn writes", () => {
  test("writes of many sessions asked for in one tick share one commit, and each is durable once its promise settles", async () => {
    await using ws = await workspace()
    const file = join(ws.path, "drost.db")
    const store = openSqlite(file)
    const sessions = await Promise.all(Array.from({ length: 20 }, () => store.sessions.create({ provider: "demo" })))
    const wal = () => statSync(`${file}-wal`).size
    // A second connection sees only what is committed.
    const other = new Database(file, { readonly: true })
    const turnsIn = () => (other.query("SELECT count(*) AS n FROM turns").get() as { n: number }).n

    // One after another: a commit each.
    const before = wal()
    for (const session of sessions.slice(0, 10))
      await store.sessions.beginTurn({ sessionId: session.id, parts: text("one"), source: "api" })
    const alone = wal() - before
    expect(turnsIn()).toBe(10)

    // All in the same tick: nothing is stored until the group commits, then all of it at once.
    const start = wal()
    const begun = sessions
      .slice(10)
      .map((session) => store.sessions.beginTurn({ sessionId: session.id, parts: text("together"), source: "api" }))
    expect(turnsIn()).toBe(10)
    const turns = await Promise.all(begun)
    expect(turnsIn()).toBe(20)
    const together = wal() - start
    // The WAL grows by the pages each commit writes: ten commits write every touched page ten times.
    expect(together).toBeLessThan(alone / 3)

    // Each caller gets its own turn and message; the cached histories have them, in order.
    await Promise.all(turns.map(({ turn }) => store.sessions.startTurn(turn.id, "demo")))
    await Promise.all(
      turns.map(({ turn }) =>
        store.sessions.append({ sessionId: turn.sessionId, turnId: turn.id, role: "assistant", parts: text("answer") }),
      ),
    )
    await Promise.all(turns.map(({ turn }) => store.sessions.finishTurn(end(turn))))
    for (const { turn, message } of turns) {
      expect(message.turnId).toBe(turn.id)
      const history = await store.sessions.history(turn.sessionId)
      expect(history.map((each) => (each.parts[0] as { text: string }).text)).toEqual(["together", "answer"])
      const row = other.query("SELECT status, steps FROM turns WHERE id = ?").get(turn.id)
      expect(row).toEqual({ status: "completed", steps: 1 })
      expect((await store.sessions.get(turn.sessionId))!.messageCount).toBe(2)
    }
    other.close()
    await store.close()
  })

  test("one write of a group that fails is undone alone: its caller gets the error, the others commit", async () => {
    await using ws = await workspace()
    const file = join(ws.path, "drost.db")
    const store = openSqlite(file)
    const [a, b] = await Promise.all([
      store.sessions.create({ provider: "demo" }),
      store.sessions.create({ provider: "demo" }),
    ])
    const asked = [
      store.sessions.beginTurn({ sessionId: a!.id, parts: text("a"), source: "api" }),
      store.sessions.beginTurn({ sessionId: "ses_missing", parts: text("lost"), source: "api" }),
      store.sessions.beginTurn({ sessionId: b!.id, parts: text("b"), source: "api" }),
    ]
    const [first, missing, third] = await Promise.allSettled(asked)
    expect(first!.status).toBe("fulfilled")
    expect(third!.status).toBe("fulfilled")
    expect(missing!.status).toBe("rejected")
    expect((missing as PromiseRejectedResult).reason).toBeInstanceOf(NotFound)
    const other = new Database(file, { readonly: true })
    const stored = other.query("SELECT session_id AS id FROM turns ORDER BY session_id").all() as { id: string }[]
    expect(stored.map((row) => row.id).sort()).toEqual([a!.id, b!.id].sort())
    expect(other.query("SELECT count(*) AS n FROM messages").get()).toEqual({ n: 2 })
    other.close()
    await store.close()
  })

  test("a write asked for after waiting ones commits after them (the group commits first)", async () => {
    await using ws = await workspace()
    const file = join(ws.path, "drost.db")
    const store = openSqlite(file)
    const session = await store.sessions.create({ provider: "demo" })
    // Two turns open, so the group waits for the end of this turn of the event loop.
    for (const input of ["one", "two"])
      await store.sessions.beginTurn({ sessionId: session.id, parts: text(input), source: "api" })
    const other = new Database(file, { readonly: true })
    const turnsIn = () => (other.query("SELECT count(*) AS n FROM turns").get() as { n: number }).n
    const begun = store.sessions.beginTurn({ sessionId: session.id, parts: text("three"), source: "api" })
    await store.sessions.setTitle(session.id, "renamed")
    expect(turnsIn()).toBe(3)
    expect(other.query("SELECT title FROM sessions").get()).toEqual({ title: "renamed" })
    await begun
    other.close()
    await store.close()
  })
})
