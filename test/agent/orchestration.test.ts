/**
 * Messages arriving during a running turn, through the real gateway and Control API: queue (default),
 * interrupt and collect, plus the queue cap with each drop policy. The demo provider streams slowly
 * (delayMs) so a turn is reliably still running when the next message arrives; the test waits on the
 * turn-started event, never on a timer.
 */
import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { readSse, type SseEvent } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"

interface Result {
  turnId: string
  status: string
  reason: string | null
  text: string
}

/** The turn id of an SSE event (its data is the bus envelope or the payload itself). */
const turnOf = (event: SseEvent): string | undefined => {
  const data = event.data as { turnId?: string; data?: { turnId?: string } }
  return data.turnId ?? data.data?.turnId
}

/** Every turn event of one session, with a way to wait for the next matching one. */
async function watch(gw: RunningGateway, sessionId: string) {
  const seen: SseEvent[] = []
  const waiters: { match: (event: SseEvent) => boolean; resolve: (event: SseEvent) => void }[] = []
  const response = await gw.api(`/events?session=${sessionId}&type=session.turn.*`, {
    headers: { accept: "text/event-stream" },
  })
  ;(async () => {
    for await (const event of readSse(response)) {
      seen.push(event)
      for (const waiter of [...waiters])
        if (waiter.match(event)) waiters.splice(waiters.indexOf(waiter), 1) && waiter.resolve(event)
    }
  })().catch(() => {})
  return {
    seen,
    next(type: string, turnId?: string): Promise<SseEvent> {
      const match = (event: SseEvent) => event.event === type && (!turnId || turnOf(event) === turnId)
      const found = seen.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => waiters.push({ match, resolve }))
    },
    /** The `n`th event of `type` (1 = the first), when it has been seen. */
    async nth(type: string, n: number): Promise<SseEvent> {
      for (;;) {
        const all = seen.filter((event) => event.event === type)
        if (all.length >= n) return all[n - 1]!
        await new Promise<SseEvent>((resolve) => waiters.push({ match: (event) => event.event === type, resolve }))
      }
    },
  }
}

async function setup(orchestration: Record<string, unknown>) {
  const ws = await workspace({ config: demoConfig({ orchestration }, { delayMs: 10 }) })
  const gw = await spawnGateway(ws.path)
  const sessionId = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const events = await watch(gw, sessionId)
  const send = async (input: string) => {
    const response = await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input } })
    return { status: response.status, body: (await response.json()) as Result & { error?: string; message?: string } }
  }
  const turns = () => {
    const db = new Database(ws.file(".drost/drost.db"), { readonly: true })
    try {
      return db.query("SELECT id, status, error FROM turns ORDER BY created_at, id").all() as {
        id: string
        status: string
        error: string | null
      }[]
    } finally {
      db.close()
    }
  }
  return {
    gw,
    sessionId,
    events,
    send,
    turns,
    async [Symbol.asyncDispose]() {
      await gw[Symbol.asyncDispose]()
      await ws[Symbol.asyncDispose]()
    },
  }
}

/** Send `first`, wait until its turn runs, then send the others (without waiting for answers). */
async function midTurn(t: Awaited<ReturnType<typeof setup>>, first: string, ...others: string[]) {
  const a = t.send(first)
  await t.events.next("session.turn.started")
  const rest = []
  for (const [index, text] of others.entries()) {
    rest.push(t.send(text))
    // Accepted before the next one is sent: the first turn's queued event is the first of them.
    await t.events.nth("session.turn.queued", index + 2)
  }
  return [await a, ...(await Promise.all(rest))]
}

describe("orchestration: messages arriving during a turn", () => {
  test("queue (default): they run one after another, in order, each with its own answer", async () => {
    await using t = await setup({})
    const [a, b, c] = await midTurn(t, "first", "second", "third")
    expect([a!.body.status, b!.body.status, c!.body.status]).toEqual(["completed", "completed", "completed"])
    expect(b!.body.text).toContain('You said: "second"')
    expect(c!.body.text).toContain('You said: "third"')
    await t.events.next("session.turn.completed", c!.body.turnId)
    const order = t.events.seen
      .filter((event) => event.event === "session.turn.started" || event.event === "session.turn.completed")
      .map((event) => `${event.event.split(".").at(-1)}:${turnOf(event)}`)
    const ids = [a!.body.turnId, b!.body.turnId, c!.body.turnId]
    expect(order).toEqual(ids.flatMap((id) => [`started:${id}`, `completed:${id}`]))
  }, 20_000)

  test("interrupt: the running turn is aborted as interrupted and the new message runs next", async () => {
    await using t = await setup({ mode: "interrupt" })
    const [a, b] = await midTurn(t, "a long first request", "never mind, do this instead")
    expect(a!.body).toMatchObject({ status: "interrupted", reason: "interrupted: a newer message arrived" })
    expect(b!.body.status).toBe("completed")
    expect(b!.body.text).toContain("never mind")
    const history = (await (await t.gw.api(`/sessions/${t.sessionId}`)).json()) as { messages: { role: string }[] }
    expect(history.messages[0]!.role).toBe("user")
    expect(history.messages.filter((message) => message.role === "user").length).toBe(2)
  }, 20_000)

  test("collect: messages during a turn become one turn after the debounce; each caller gets its answer", async () => {
    await using t = await setup({ mode: "collect", debounceMs: 300 })
    const [a, b, c] = await midTurn(t, "first", "part one", "part two")
    expect(a!.body.status).toBe("completed")
    // b and c were answered by the same turn, which saw both messages (the demo echoes the last one).
    expect(b!.body.turnId).toBe(c!.body.turnId)
    expect(c!.body).toMatchObject({ status: "completed", text: expect.stringContaining('You said: "part two"') })
    const started = t.events.seen.filter((event) => event.event === "session.turn.started")
    expect(started.length).toBe(2)
    const turns = t.turns()
    expect(turns.map((turn) => turn.status)).toEqual(["completed", "completed", "completed"])
    expect(turns[2]!.error).toBe(`collected into ${b!.body.turnId}`)
  }, 20_000)

  test("queue cap, drop reject: the message is refused with 409 before it is stored; queues are visible", async () => {
    await using t = await setup({ maxQueue: 1, drop: "reject" })
    const a = t.send("first")
    await t.events.next("session.turn.started")
    const b = t.send("second")
    await t.events.nth("session.turn.queued", 2)
    const queues = (await (await t.gw.api("/queues")).json()) as { queues: unknown[] }
    expect(queues.queues).toEqual([{ sessionId: t.sessionId, running: expect.any(String), waiting: 1, messages: 1 }])
    const status = (await (await t.gw.api("/status")).json()) as { queues: unknown[] }
    expect(status.queues).toEqual(queues.queues)
    const c = await t.send("third")
    expect(c.status).toBe(409)
    expect(c.body.message).toContain("orchestration.maxQueue 1")
    expect((await a).body.status).toBe("completed")
    expect((await b).body.status).toBe("completed")
    expect(t.turns().length).toBe(2)
  }, 20_000)

  test("queue cap, drop newest: the new message is stored and its turn ends failed (dropped)", async () => {
    await using t = await setup({ maxQueue: 1, drop: "newest" })
    const [a, b, c] = await midTurn(t, "first", "second", "third")
    expect([a!.body.status, b!.body.status]).toEqual(["completed", "completed"])
    expect(c!.body).toMatchObject({ status: "failed", reason: expect.stringContaining("dropped") })
  }, 20_000)

  test("queue cap, drop oldest (as a channel override): the waiting turn gives way to the new one", async () => {
    await using t = await setup({ maxQueue: 1, channels: { api: { drop: "oldest" } } })
    const [a, b, c] = await midTurn(t, "first", "second", "third")
    expect(a!.body.status).toBe("completed")
    expect(b!.body).toMatchObject({ status: "failed", reason: expect.stringContaining("dropped") })
    expect(c!.body.status).toBe("completed")
  }, 20_000)
})
