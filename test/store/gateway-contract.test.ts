/**
 * The gateway's contract store (`gw.data`, src/store/engine/sqlite.ts over the gateway's own synchronous
 * stores): what is written through the synchronous stores the services use is read through the contract
 * and the other way round, the in-memory caches included (the sessions store's history, the newest
 * summary per session). A second instance over the same database would answer from a stale cache.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type InProcess, inProcess } from "../api/inprocess.ts"

const text = (value: string) => [{ type: "text" as const, text: value }]
const texts = (messages: { parts: unknown[] }[]) => messages.map((m) => (m.parts[0] as { text: string }).text)

let drost: InProcess

beforeAll(async () => {
  drost = await inProcess()
})
afterAll(async () => {
  await drost?.[Symbol.asyncDispose]()
})

describe("the gateway's contract store", () => {
  test("is SQLite, owned by the gateway", () => {
    expect(drost.gw.data.engine).toBe("sqlite")
    expect(drost.gw.data.owner).toBe(drost.gw.id)
  })

  test("sessions written through either are read through the other", async () => {
    const { gw } = drost
    const store = gw.storage.sqlite!.sessions
    const viaSync = store.create({ provider: "demo", title: "sync", channel: "test", channelKey: "k1" })
    expect(await gw.data.sessions.get(viaSync.id)).toEqual(viaSync)
    expect((await gw.data.sessions.byChannelKey("test", "k1"))?.id).toBe(viaSync.id)
    const viaContract = await gw.data.sessions.create({ provider: "demo", title: "contract" })
    expect(store.get(viaContract.id)).toEqual(viaContract)
    await gw.data.sessions.setTitle(viaSync.id, "renamed")
    expect(store.require(viaSync.id).title).toBe("renamed")
    expect(await gw.data.sessions.count()).toBe(store.count())
  })

  test("the history cache: read through one, append through the other, read again", async () => {
    const { gw } = drost
    const store = gw.storage.sqlite!.sessions
    const session = store.create({ provider: "demo" })
    const first = store.beginTurn({ sessionId: session.id, parts: text("one"), source: "test" })
    // Cached by this read of the synchronous store; the contract's append must land in that cache.
    expect(texts(store.history(session.id))).toEqual(["one"])
    await gw.data.sessions.append({
      sessionId: session.id,
      turnId: first.turn.id,
      role: "assistant",
      parts: text("two"),
    })
    expect(texts(store.history(session.id))).toEqual(["one", "two"])
    // And the other way: the contract's read is cached, the synchronous store appends.
    expect(texts(await gw.data.sessions.history(session.id))).toEqual(["one", "two"])
    store.append({ sessionId: session.id, turnId: first.turn.id, role: "assistant", parts: text("three") })
    expect(texts(await gw.data.sessions.history(session.id))).toEqual(["one", "two", "three"])
    const second = await gw.data.sessions.beginTurn({ sessionId: session.id, parts: text("four"), source: "test" })
    expect(texts(store.history(session.id))).toEqual(["one", "two", "three", "four"])
    const owned = gw.storage.local
      .query<{ owner: string }, [string]>("SELECT owner FROM turns WHERE id = ?")
      .get(second.turn.id)
    expect(owned?.owner).toBe(gw.id)
    const end = { usage: { input: 0, output: 0, cached: 0 }, steps: 0, toolCalls: 0, messages: 1 }
    await gw.data.sessions.finishTurn({ id: second.turn.id, sessionId: session.id, status: "completed", ...end })
    expect(store.turn(second.turn.id)?.status).toBe("completed")
  })

  test("a real turn's messages and turn are read through the contract", async () => {
    const { gw } = drost
    const store = gw.storage.sqlite!.sessions
    const session = await gw.sessions.create({ channel: "test" })
    const result = await (await gw.sessions.prompt({ sessionId: session.id, text: "hello" })).done
    expect(result.status).toBe("completed")
    const history = await gw.data.sessions.history(session.id)
    expect(history.map((m) => m.role)).toEqual(store.history(session.id).map((m) => m.role))
    expect(history[0]?.role).toBe("user")
    expect((await gw.data.sessions.turns(session.id)).map((t) => t.id)).toEqual([result.turnId])
  })
})
