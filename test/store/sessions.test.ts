import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { join } from "node:path"
import { SCHEMA_VERSION, integrity, open } from "../../src/store/db.ts"
import { createSessionStore } from "../../src/store/sessions.ts"
import { workspace } from "../lib/workspace.ts"

describe("session store", () => {
  test("opens with WAL, synchronous=NORMAL, a busy timeout and the current schema version", async () => {
    await using ws = await workspace()
    const db = open(join(ws.path, "drost.db"))
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" })
    expect(db.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 })
    expect(db.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 5000 })
    expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION })
    db.close()
    // Reopening applies nothing twice.
    const again = open(join(ws.path, "drost.db"))
    expect(again.query("PRAGMA user_version").get()).toEqual({ user_version: SCHEMA_VERSION })
    expect(integrity(again)).toBe("ok")
    again.close()
  })

  test("refuses a database written by a newer drost", async () => {
    await using ws = await workspace()
    const raw = new Database(join(ws.path, "drost.db"), { create: true })
    raw.run(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`)
    raw.close()
    expect(() => open(join(ws.path, "drost.db"))).toThrow(/newer than this drost/)
  })

  test("the history a turn reads matches the table: after appends, a rolled-back write and a committed outer transaction", () => {
    const db = open(":memory:")
    const store = createSessionStore(db)
    const session = store.create({ provider: "demo" })
    const text = (sessionId: string) =>
      store.history(sessionId).map((message) => (message.parts[0] as { text: string }).text)
    const fromTable = (sessionId: string) =>
      (
        db.query("SELECT parts FROM messages WHERE session_id = ? ORDER BY seq").all(sessionId) as { parts: string }[]
      ).map((row) => JSON.parse(row.parts)[0].text)
    const parts = [{ type: "text" as const, text: "one" }]
    store.append({ sessionId: session.id, turnId: null, role: "user", parts })
    expect(text(session.id)).toEqual(["one"])
    // The caller's objects are its own: changing them later does not change the history.
    parts[0]!.text = "changed"
    store.beginTurn({ sessionId: session.id, parts: [{ type: "text", text: "two" }], source: "api" })
    expect(text(session.id)).toEqual(["one", "two"])
    // Written inside a caller's transaction that then fails: the message is not in the table, nor in the history.
    expect(() =>
      db.transaction(() => {
        store.beginTurn({ sessionId: session.id, parts: [{ type: "text", text: "rolled back" }], source: "api" })
        throw new Error("the caller's next write failed")
      })(),
    ).toThrow("the caller's next write failed")
    expect(text(session.id)).toEqual(fromTable(session.id))
    expect(text(session.id)).toEqual(["one", "two"])
    // Inside an outer transaction that commits: there.
    db.transaction(() =>
      store.append({
        sessionId: session.id,
        turnId: null,
        role: "assistant",
        parts: [{ type: "text", text: "three" }],
      }),
    )()
    store.append({ sessionId: session.id, turnId: null, role: "user", parts: [{ type: "text", text: "four" }] })
    expect(text(session.id)).toEqual(["one", "two", "three", "four"])
    expect(text(session.id)).toEqual(fromTable(session.id))
  })

  test("messages page backwards from the newest, oldest first within a page", () => {
    const store = createSessionStore(open(":memory:"))
    const session = store.create({ provider: "demo" })
    const other = store.create({ provider: "demo" })
    for (let i = 0; i < 120; i++) {
      store.append({ sessionId: session.id, turnId: null, role: "user", parts: [{ type: "text", text: `m${i}` }] })
      store.append({ sessionId: other.id, turnId: null, role: "user", parts: [{ type: "text", text: `o${i}` }] })
    }
    const last = store.messages(session.id, { limit: 50 })
    expect(last.map((message) => (message.parts[0] as { text: string }).text)).toEqual(
      Array.from({ length: 50 }, (_, i) => `m${70 + i}`),
    )
    const before = store.messages(session.id, { limit: 50, beforeSeq: last[0]!.seq })
    expect((before.at(-1)!.parts[0] as { text: string }).text).toBe("m69")
    expect(store.history(session.id)).toHaveLength(120)
  })

  test("a turn's user message is durable with the queued turn; recovery marks open turns interrupted and recounts", () => {
    const store = createSessionStore(open(":memory:"))
    const session = store.create({ provider: "demo" })
    const { turn, message } = store.beginTurn({
      sessionId: session.id,
      parts: [{ type: "text", text: "hi" }],
      source: "test",
    })
    expect(turn.status).toBe("queued")
    store.startTurn(turn.id, "demo")
    store.append({
      sessionId: session.id,
      turnId: turn.id,
      role: "assistant",
      parts: [{ type: "text", text: "partial" }],
    })
    const recovered = store.recoverInterrupted("crash")
    expect(recovered.map((entry) => [entry.id, entry.status])).toEqual([[turn.id, "interrupted"]])
    expect(store.turn(turn.id)).toMatchObject({ status: "interrupted", error: "crash" })
    expect(store.require(session.id).messageCount).toBe(2)
    expect(store.history(session.id)[0]!.id).toBe(message.id)
    // A finished turn is never reopened or changed by a later recovery.
    expect(store.recoverInterrupted("again")).toEqual([])
  })

  test("unknown sessions are named in the error", () => {
    const store = createSessionStore(open(":memory:"))
    expect(() => store.require("ses_missing")).toThrow('unknown session "ses_missing"')
    expect(() => store.beginTurn({ sessionId: "ses_missing", parts: [], source: "test" })).toThrow(
      'unknown session "ses_missing"',
    )
  })

  test("a turn ended twice counts its usage and messages once (a late end after recovery marked it)", () => {
    const store = createSessionStore(open(":memory:"))
    const session = store.create({ provider: "demo" })
    const { turn } = store.beginTurn({ sessionId: session.id, parts: [{ type: "text", text: "hi" }], source: "api" })
    store.startTurn(turn.id, "demo")
    store.append({ sessionId: session.id, turnId: turn.id, role: "assistant", parts: [{ type: "text", text: "yo" }] })
    const end = {
      id: turn.id,
      sessionId: session.id,
      status: "completed" as const,
      usage: { input: 10, output: 5, cached: 0 },
      steps: 1,
      toolCalls: 0,
      messages: 1,
    }
    store.finishTurn(end)
    store.finishTurn(end)
    const after = store.require(session.id)
    expect(after.usage).toEqual({ input: 10, output: 5, cached: 0 })
    expect(after.messageCount).toBe(2)
    expect(store.turn(turn.id)?.status).toBe("completed")
  })
})
