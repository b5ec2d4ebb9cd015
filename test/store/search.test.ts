/**
 * sessions.search (issue 17 item 5): what was said in earlier conversations is found through the
 * messages_fts index, which every message written joins, with the session, the time and a snippet.
 * Conversations happen as real turns through an in-process gateway whose model is the loopback fake;
 * the model then calls sessions.search from another session and the result comes back into its turn.
 * Also: a database from before the index is indexed when it is opened (migration backfill), deleted
 * sessions leave the index, and the question being asked is not its own answer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Database } from "bun:sqlite"
import { migrate, open } from "../../src/store/db.ts"
import { createMessageSearch, INDEX_BATCH, matchExpression } from "../../src/store/search.ts"
import { createSessionStore } from "../../src/store/sessions.ts"
import { reply } from "../fake/openai.ts"
import { inProcess, type InProcess } from "../tool/lib.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

/** Waits for a condition the store reaches in the background (an index batch); fails after 10 s. */
async function until(condition: () => boolean) {
  for (let i = 0; i < 1_000 && !condition(); i++) await Bun.sleep(10)
  expect(condition()).toBe(true)
}

let ws: Workspace
let drost: InProcess
let flatSession: string
let bikeSession: string

/** One real turn: the user's text, the fake model's answer. */
async function say(sessionId: string, text: string, answer: string) {
  drost.llm.queue(reply().text(answer))
  const result = await (await drost.gw.sessions.prompt({ sessionId, text })).done
  expect(result.status).toBe("completed")
}

beforeAll(async () => {
  ws = await workspace()
  drost = await inProcess(ws.path, { timeZone: "Europe/Berlin" })
  flatSession = (await drost.gw.sessions.create({ channel: "telegram", title: "Flat hunting" })).id
  bikeSession = (await drost.gw.sessions.create({ channel: "api", title: "Bikes" })).id
  await say(
    flatSession,
    "I'm looking for a flat in Kreuzberg, at most 1200 euros warm.",
    "Noted: Kreuzberg, 1200 € warm.",
  )
  await say(
    bikeSession,
    "My bike needs new brakes before the trip.",
    "Brake pads are cheap; the shop on Oranienstraße fits them.",
  )
  await say(flatSession, "The landlord wants a Schufa report for the flat.", "You can order a Schufa report online.")
})

afterAll(async () => {
  await drost?.[Symbol.asyncDispose]()
  await ws?.[Symbol.asyncDispose]()
})

describe("the model calls sessions.search", () => {
  test("finds what was said in another session, with session, time and snippet; not the question itself", async () => {
    const result = await drost.call("sessions.search", { query: "what did I say about the flat" })
    // All words must match: "what did I say" is in no earlier message, so that finds nothing…
    expect(result.output).toBe('no earlier message matches "what did I say about the flat"')
    const found = await drost.call("sessions.search", { query: "flat" })
    expect(found.isError).toBe(false)
    expect(found.output).toContain('2 messages match "flat" (newest first)')
    const lines = found.output.split("\n")
    // Newest first: the Schufa message, then the Kreuzberg one; both from the flat session.
    expect(lines[2]).toMatch(
      new RegExp(`^1\\. \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d · session ${flatSession} "Flat hunting" · user said:$`),
    )
    expect(lines[3]).toContain("Schufa report for the «flat»")
    expect(lines[5]).toContain("looking for a «flat» in Kreuzberg")
    // The current turn's own question ("please call sessions.search") is never a hit.
    expect(found.output).not.toContain("please call")
    // The result went back to the model in the same turn.
    const body = drost.llm.hits.at(-1)?.body as { messages: { role: string; content: unknown }[] }
    expect(JSON.stringify(body.messages.findLast((m) => m.role === "tool")?.content)).toContain("Kreuzberg")
  })

  test("the time is shown in the owner's time zone", async () => {
    const found = await drost.call("sessions.search", { query: "Kreuzberg", role: "user" })
    const stored = (await drost.gw.data.sessions.history(flatSession))[0]!
    const berlin = new Intl.DateTimeFormat("en-CA", {
      timeZone: "Europe/Berlin",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .format(new Date(stored.createdAt))
      .replace(",", "")
    expect(found.output).toContain(`1. ${berlin} · session ${flatSession}`)
  })

  test("word forms, phrases, prefixes, any-word and role filters", async () => {
    const forms = await drost.call("sessions.search", { query: "flats" })
    expect(forms.output).toContain('2 messages match "flats"')
    const phrase = await drost.call("sessions.search", { query: '"new brakes"' })
    expect(phrase.output).toContain("needs «new brakes»")
    expect(phrase.output).toContain(`session ${bikeSession} "Bikes"`)
    const prefix = await drost.call("sessions.search", { query: "Schuf*", role: "assistant" })
    expect(prefix.output).toContain("1 message match")
    expect(prefix.output).toContain("assistant said")
    const either = await drost.call("sessions.search", { query: "brakes landlord", any: true })
    // "Brake pads" counts too: the stemmer reduces both to one word.
    expect(either.output).toContain('3 messages match "brakes landlord"')
    const only = await drost.call("sessions.search", { query: "Oranienstraße", sessionId: flatSession })
    expect(only.output).toBe('no earlier message matches "Oranienstraße"')
    const folded = await drost.call("sessions.search", { query: "oranienstraße" })
    expect(folded.output).toContain("the shop on «Oranienstraße»")
  })

  test("operators and punctuation in a query are plain text, and a bad date is an error result", async () => {
    const odd = await drost.call("sessions.search", { query: 'flat" OR NEAR( -brakes' })
    expect(odd.isError).toBe(false)
    const date = await drost.call("sessions.search", { query: "flat", since: "last tuesday" })
    expect(date.isError).toBe(true)
    expect(date.output).toContain("since must be a date")
    const future = await drost.call("sessions.search", { query: "flat", since: "2999-01-01" })
    expect(future.output).toContain("no earlier message")
  })

  test("a deleted session leaves the index", async () => {
    const gone = (await drost.gw.sessions.create({ channel: "api", title: "Temporary" })).id
    await say(gone, "The zeppelin museum opens at nine.", "Good to know.")
    expect((await drost.call("sessions.search", { query: "zeppelin" })).output).toContain("1 message match")
    await drost.gw.sessions.remove(gone)
    expect((await drost.call("sessions.search", { query: "zeppelin" })).output).toContain("no earlier message")
  })
})

describe("the index in the store", () => {
  test("a database from before the index is indexed when opened (migration backfill)", async () => {
    await using dir = await workspace()
    const file = join(dir.path, "old.db")
    // A version-5 database (the schema before the index), written as that version wrote it.
    const before = new Database(file, { create: true })
    migrate(before, 5)
    before.run(
      "INSERT INTO sessions (id, title, created_at, updated_at, provider) VALUES ('ses_old', 'Old times', 1, 1, 'demo')",
    )
    const message = (id: string, role: string, parts: unknown[]) =>
      before.run("INSERT INTO messages (id, session_id, role, parts, created_at) VALUES (?, 'ses_old', ?, ?, 1)", [
        id,
        role,
        JSON.stringify(parts),
      ])
    message("msg_1", "user", [{ type: "text", text: "The cellar is damp." }])
    message("msg_2", "assistant", [
      { type: "reasoning", text: "hidden thought about mould" },
      { type: "text", text: "A dehumidifier helps against mould." },
    ])
    message("msg_3", "tool", [{ type: "tool-result", callId: "c", output: "mould tool output" }])
    expect(before.query("PRAGMA user_version").get()).toEqual({ user_version: 5 })
    before.close()

    const after = open(file)
    const search = createMessageSearch(after)
    expect(search.search({ text: "damp", limit: 10 }).map((hit) => hit.snippet)).toEqual(["The cellar is «damp»."])
    // Only the text parts of user and assistant messages: not reasoning, not tool output.
    const mould = search.search({ text: "mould", limit: 10 })
    expect(mould.map((hit) => [hit.role, hit.snippet])).toEqual([
      ["assistant", "A dehumidifier helps against «mould»."],
    ])
    expect(mould[0]!.sessionTitle).toBe("Old times")
    after.close()
  })

  test("messages written outside a search wait in batches and are all found", async () => {
    await using dir = await workspace()
    const db = open(join(dir.path, "batch.db"))
    const store = createSessionStore(db)
    const session = store.create({ provider: "demo" })
    for (let i = 0; i < INDEX_BATCH + 10; i++)
      store.append({
        sessionId: session.id,
        turnId: null,
        role: "user",
        parts: [{ type: "text", text: `note number${i}` }],
      })
    const waiting = () => (db.query("SELECT count(*) AS n FROM messages_fts_pending").get() as { n: number }).n
    const indexed = () => (db.query("SELECT count(*) AS n FROM messages_fts").get() as { n: number }).n
    expect(waiting()).toBe(INDEX_BATCH + 10)
    // A turn's end does not index inside its closing commit: the batch follows, once turns pause, one
    // batch at a time (its own transactions), until fewer than a batch wait.
    const { turn } = store.beginTurn({ sessionId: session.id, parts: [{ type: "text", text: "hello" }], source: "api" })
    store.finishTurn({
      id: turn.id,
      sessionId: session.id,
      status: "completed",
      usage: { input: 0, output: 0, cached: 0 },
      steps: 1,
      toolCalls: 0,
      messages: 0,
    })
    expect(waiting()).toBe(INDEX_BATCH + 11)
    expect(indexed()).toBe(0)
    await until(() => waiting() < INDEX_BATCH)
    expect(indexed()).toBe(INDEX_BATCH)
    expect(waiting()).toBe(11)
    store.append({
      sessionId: session.id,
      turnId: null,
      role: "assistant",
      parts: [{ type: "text", text: "late number9999" }],
    })
    expect(waiting()).toBe(12)
    // A row with damaged JSON has no text, and does not stop the batch it is in.
    db.query(
      "INSERT INTO messages (id, session_id, role, parts, created_at) VALUES ('msg_bad', $session, 'user', '[{\"type\":', 1)",
    ).run({ session: session.id })
    expect(waiting()).toBe(13)
    const search = createMessageSearch(db)
    expect(search.search({ text: "number9999", limit: 5 }).length).toBe(1)
    expect(search.search({ text: `number${INDEX_BATCH + 9}`, limit: 5 }).length).toBe(1)
    expect(waiting()).toBe(0)
    db.close()
  })

  test("what waited when the process was killed is indexed after the next start, without a search", async () => {
    await using dir = await workspace()
    const path = join(dir.path, "killed.db")
    const first = open(path)
    const store = createSessionStore(first)
    const session = store.create({ provider: "demo" })
    for (let i = 0; i < 20; i++)
      store.append({ sessionId: session.id, turnId: null, role: "user", parts: [{ type: "text", text: `left${i}` }] })
    // No turn end, no search: the rows wait in the table, durable with the messages (a kill -9 keeps them).
    first.close()
    const again = open(path)
    const waiting = () => (again.query("SELECT count(*) AS n FROM messages_fts_pending").get() as { n: number }).n
    expect(waiting()).toBe(20)
    createSessionStore(again)
    await until(() => waiting() === 0)
    const hits = again.query("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'left7'").all() as {
      rowid: number
    }[]
    expect(hits.length).toBe(1)
    again.close()
  })

  test("query text becomes quoted FTS5 terms", () => {
    expect(matchExpression("flat Kreuzberg")).toBe('"flat" "Kreuzberg"')
    expect(matchExpression('"new brakes" schuf*')).toBe('"new brakes" "schuf"*')
    expect(matchExpression("a OR b", true)).toBe('"a" OR "OR" OR "b"')
    expect(matchExpression('NEAR( -x "')).toBe('"NEAR" "x"')
    expect(matchExpression("?! …")).toBeNull()
  })
})
