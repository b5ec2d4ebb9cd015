/**
 * The sessions service on the store contract (src/agent/session.ts over src/store/engine): prompts for
 * one session called back to back without awaiting are accepted, stored and run in call order, and a
 * full queue refuses before anything is stored, on both engines. On PostgreSQL the user messages are
 * written over several connections, so without the per-session acceptance order a later call's write
 * could finish first; on SQLite every write is done before the first await, so there the queue cap is
 * what breaks without it (each call would see the lane as it was before the others were queued).
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createSessions } from "../../src/agent/session.ts"
import { TurnEvent } from "../../src/agent/events.ts"
import { createBus } from "../../src/bus/bus.ts"
import type { LanePolicy } from "../../src/core/continuity-config.ts"
import type { Provider, StreamEvent } from "../../src/core/provider.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { createToolRegistry } from "../../src/tool/registry.ts"
import { Log } from "../../src/util/log.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"

/** Answers every turn with "ok"; `gate` holds every answer until it resolves. */
function held(gate: Promise<void>): Provider {
  return {
    id: "held",
    kind: "demo",
    model: "held-1",
    async *stream(): AsyncGenerator<StreamEvent> {
      await gate
      yield { type: "text", delta: "ok" }
      yield { type: "done", stop: "stop" }
    },
  }
}

function service(data: Store, provider: Provider, policy?: LanePolicy) {
  const bus = createBus({ startId: 1 })
  const root = mkdtempSync(join(tmpdir(), "drost-order-"))
  const sessions = createSessions({
    data,
    bus,
    tools: createToolRegistry({ timeoutMs: 1000, outputLimit: 200, log: Log.create("test") }),
    providers: () => new Map([[provider.id, provider]]),
    defaultProvider: () => provider.id,
    systemPrompt: async () => "test",
    lane: policy ? () => policy : undefined,
    limits: () => ({ maxSteps: 4, maxToolCalls: 4, turnTimeoutMs: 10_000 }),
    workspace: { root, tools: join(root, "tools"), memory: join(root, "memory"), prompts: join(root, "prompts") },
    log: Log.create("test"),
  })
  const started: string[] = []
  bus.subscribe(TurnEvent.Started, (event) => void started.push(event.data.turnId))
  return { sessions, started }
}

const engines: { name: string; open: () => Promise<Store> }[] = [
  { name: "sqlite", open: async () => openSqlite(join(mkdtempSync(join(tmpdir(), "drost-order-")), "drost.db")) },
]
const skip = postgresSkip()
if (!skip) {
  const pg = postgresPerFile()
  engines.push({ name: "postgres", open: async () => openPostgres(await pg.server.database(), { max: 8 }) })
} else test.skip(`sessions on PostgreSQL (skipped: ${skip})`, () => {})

describe.each(engines)("sessions on $name", ({ open }) => {
  test("prompts called back to back are stored, queued and answered in call order", async () => {
    const data = await open()
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const { sessions, started } = service(data, held(gate))
    try {
      const session = await sessions.create({})
      const texts = Array.from({ length: 20 }, (_, index) => `m${index}`)
      const calls = texts.map((text) => sessions.prompt({ sessionId: session.id, text }))
      const accepted = await Promise.all(calls)
      release()
      const results = await Promise.all(accepted.map((each) => each.done))
      expect(results.map((result) => result.status)).toEqual(texts.map(() => "completed"))
      // Each call's turn is its own, and the turns ran in call order.
      expect(results.map((result) => result.turnId)).toEqual(accepted.map((each) => each.turn.id))
      expect(started).toEqual(accepted.map((each) => each.turn.id))
      // The user messages were stored in call order too (their seq rises with it).
      const users = (await data.sessions.history(session.id)).filter((message) => message.role === "user")
      expect(users.map((message) => (message.parts[0] as { text: string }).text)).toEqual(texts)
      expect(users.map((message) => message.id)).toEqual(accepted.map((each) => each.messageId))
    } finally {
      release()
      await sessions.drain(1000)
      await data.close()
    }
  }, 30_000)

  test("a full queue refuses the prompt called after the others, before storing it", async () => {
    const data = await open()
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const policy: LanePolicy = { mode: "queue", debounceMs: 0, maxQueue: 1, drop: "reject" }
    const { sessions } = service(data, held(gate), policy)
    try {
      const session = await sessions.create({})
      // The first runs (held by the gate), the second waits, the third finds the queue full.
      const calls = ["one", "two", "three"].map((text) => sessions.prompt({ sessionId: session.id, text }))
      const settled = await Promise.allSettled(calls)
      expect(settled.map((each) => each.status)).toEqual(["fulfilled", "fulfilled", "rejected"])
      expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: "Busy" })
      const users = (await data.sessions.history(session.id)).filter((message) => message.role === "user")
      expect(users.map((message) => (message.parts[0] as { text: string }).text)).toEqual(["one", "two"])
      release()
      for (const each of settled.slice(0, 2))
        expect((await (each as PromiseFulfilledResult<{ done: Promise<{ status: string }> }>).value.done).status).toBe(
          "completed",
        )
    } finally {
      release()
      await sessions.drain(1000)
      await data.close()
    }
  }, 30_000)
})
