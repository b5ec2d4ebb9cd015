/**
 * Turn ownership on one shared database (two gateways, one `DROST_DB`: the mode the Telegram lease test
 * uses). Each gateway registers itself in `gateways` with a heartbeat and owns the turns it accepted:
 * starting or stopping the other gateway must not touch them, and a gateway that dies has its open
 * turns interrupted by the one still running (its heartbeat sweep), reported as start-up recovery does.
 *
 * The model is a loopback OpenAI-compatible server that streams one word and then waits until the test
 * opens its gate, so the turn is provably still running while the other gateway starts or stops.
 */
import { expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { readSse, type SseEvent } from "../lib/sse.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

/** A chat-completions stream that sends "Working" at once and the rest when `open()` is called. */
function gatedModel() {
  let gates: (() => void)[] = []
  const waiting: (() => void)[] = []
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id: "chatcmpl-gated",
      object: "chat.completion.chunk",
      created: 0,
      model: "m",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      if (!new URL(request.url).pathname.endsWith("/chat/completions")) return Response.json({ data: [] })
      const gate = new Promise<void>((resolve) => {
        gates.push(resolve)
      })
      for (const wake of waiting.splice(0)) wake()
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode(chunk({ role: "assistant", content: "Working" })))
          await gate
          controller.enqueue(encoder.encode(chunk({ content: " and done." })))
          controller.enqueue(encoder.encode(chunk({}, "stop")))
          controller.enqueue(encoder.encode("data: [DONE]\n\n"))
          controller.close()
        },
      })
      return new Response(body, { headers: { "content-type": "text/event-stream" } })
    },
  })
  return {
    baseUrl: `http://127.0.0.1:${server.port}/v1`,
    /** Let every waiting stream finish. */
    open() {
      for (const resolve of gates) resolve()
      gates = []
    },
    stop: () => {
      for (const resolve of gates) resolve()
      server.stop(true)
    },
  }
}

const config = (baseUrl: string, store?: Record<string, unknown>) => ({
  providers: {
    profiles: [{ id: "llm", kind: "openai-compatible", baseUrl, model: "m", api: "chat", apiKeyEnv: "DROST_FAKE_KEY" }],
    failover: { enabled: false },
  },
  controlApi: { port: 0 },
  ...(store ? { store } : {}),
})

const ENV = { DROST_FAKE_KEY: "test-key" }

/** Start a turn over SSE and return once its first delta arrived (the turn is `running` in the store). */
async function slowTurn(gw: RunningGateway, input: string) {
  const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const response = await gw.api(`/sessions/${session}/turn`, {
    method: "POST",
    json: { input },
    headers: { accept: "text/event-stream" },
  })
  const stream = readSse(response)
  const seen: SseEvent[] = []
  let turnId = ""
  for (;;) {
    const { value, done } = await stream.next()
    if (done) throw new Error(`the turn ended before its first delta: ${JSON.stringify(seen)}`)
    seen.push(value)
    if (value.event === "turn.accepted") turnId = (value.data as { turnId: string }).turnId
    if (value.event === "session.turn.delta") break
  }
  /** The rest of the stream, to its end (or to the connection's loss, when the gateway is killed). */
  const rest = (async () => {
    try {
      for await (const event of stream) seen.push(event)
    } catch {
      seen.push({ event: "lost", data: null })
    }
    return seen
  })()
  return { session, turnId, rest }
}

function storedTurn(file: string, id: string) {
  const db = new Database(file, { readonly: true })
  try {
    return db
      .query<{ status: string; error: string | null }, [string]>("SELECT status, error FROM turns WHERE id = ?")
      .get(id)
  } finally {
    db.close()
  }
}

const logged = async (ws: Workspace) => {
  const file = Bun.file(ws.file(".drost/logs/events.jsonl"))
  return (await file.exists()) ? await file.text() : ""
}

test("two gateways on one database: starting and stopping the second leaves the first one's running turns alone", async () => {
  const model = gatedModel()
  try {
    await using a = await workspace({ config: config(model.baseUrl) })
    await using b = await workspace({ config: config(model.baseUrl) })
    const shared = a.file("shared.db")
    const env = { ...ENV, DROST_DB: shared }
    await using first = await spawnGateway(a.path, { env })
    const one = await slowTurn(first, "first question")
    expect(storedTurn(shared, one.turnId)?.status).toBe("running")

    // The second gateway's start-up recovery runs before its ready line.
    await using second = await spawnGateway(b.path, { env })
    expect(storedTurn(shared, one.turnId)?.status).toBe("running")
    model.open()
    const events = await one.rest
    expect(events.at(-1)?.event).toBe("turn.completed")
    const body = (await (await second.api(`/sessions/${one.session}?limit=10`)).json()) as {
      messages: { role: string; parts: { type: string; text?: string }[] }[]
      turns: { id: string; status: string; error: string | null }[]
    }
    expect(body.turns).toMatchObject([{ id: one.turnId, status: "completed", error: null }])
    expect(body.messages.map((message) => message.role)).toEqual(["user", "assistant"])
    expect(body.messages[1]!.parts).toEqual([{ type: "text", text: "Working and done." }])

    // A clean stop of the second only marks its own turns: the first's next turn keeps running.
    const two = await slowTurn(first, "second question")
    expect(await second.stop()).toBe(0)
    expect(storedTurn(shared, two.turnId)?.status).toBe("running")
    model.open()
    expect((await two.rest).at(-1)?.event).toBe("turn.completed")
    expect(storedTurn(shared, two.turnId)?.status).toBe("completed")
    expect(await first.stop()).toBe(0)
    for (const ws of [a, b]) expect(await logged(ws)).not.toContain('"type":"session.turn.interrupted"')
    expect(await logged(a)).toContain('"type":"session.turn.completed"')
  } finally {
    model.stop()
  }
}, 30_000)

test("a gateway killed with -9: the other one on the database interrupts its open turn on its next heartbeat", async () => {
  const model = gatedModel()
  try {
    // Every gateway on one database uses the same heartbeat; short here so the sweep comes soon.
    await using a = await workspace({ config: config(model.baseUrl, { heartbeatMs: 300 }) })
    await using b = await workspace({ config: config(model.baseUrl, { heartbeatMs: 300 }) })
    const shared = a.file("shared.db")
    const env = { ...ENV, DROST_DB: shared }
    await using first = await spawnGateway(a.path, { env })
    await using second = await spawnGateway(b.path, { env })
    const one = await slowTurn(first, "doomed question")
    await first.kill9()
    expect((await one.rest).at(-1)?.event).toBe("lost")
    // Same host, its pid gone: the survivor's sweep takes it at once (no wait for the heartbeat to go stale).
    const deadline = Date.now() + 10_000
    while (!(await logged(b)).includes(`"turnId":"${one.turnId}"`)) {
      if (Date.now() > deadline) throw new Error("the surviving gateway never reported the dead one's turn")
      await Bun.sleep(50)
    }
    const line = (await logged(b))
      .split("\n")
      .find((candidate) => candidate.includes('"type":"session.turn.interrupted"') && candidate.includes(one.turnId))
    expect(line).toBeDefined()
    const turn = storedTurn(shared, one.turnId)
    expect(turn?.status).toBe("interrupted")
    expect(turn?.error).toContain("interrupted")
    // Its gateway row is gone with it; the survivor's stays until it stops.
    const db = new Database(shared, { readonly: true })
    const rows = db.query<{ id: string }, []>("SELECT id FROM gateways").all()
    db.close()
    expect(rows.length).toBe(1)
    expect(await second.stop()).toBe(0)
  } finally {
    model.stop()
  }
}, 30_000)
