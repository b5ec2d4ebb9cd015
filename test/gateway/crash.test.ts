import { expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"

test("kill -9 in the middle of a turn: acknowledged messages survive, the turn is interrupted, the store is intact", async () => {
  await using ws = await workspace({ config: demoConfig({}, { delayMs: 30 }), files: { "a.txt": "alpha\n" } })
  const acknowledged: string[] = []
  let sessionId = ""
  {
    await using gw = await spawnGateway(ws.path)
    sessionId = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
    // One complete turn first, so there is finished history to lose if the store were not durable.
    const first = (await (
      await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input: "list files" } })
    ).json()) as { messageId: string; status: string }
    expect(first.status).toBe("completed")
    acknowledged.push(first.messageId)
    const response = await gw.api(`/sessions/${sessionId}/turn`, {
      method: "POST",
      json: { input: "read a.txt" },
      headers: { accept: "text/event-stream" },
    })
    for await (const event of readSse(response)) {
      if (event.event === "turn.accepted") acknowledged.push((event.data as { messageId: string }).messageId)
      // Kill after the tool ran, while the model is streaming its second step.
      if (
        event.event === "session.turn.delta" &&
        acknowledged.length === 2 &&
        (event.data as { text: string }).text.startsWith("is")
      )
        break
    }
    await gw.kill9()
  }
  {
    await using gw = await spawnGateway(ws.path)
    const body = (await (await gw.api(`/sessions/${sessionId}?limit=100`)).json()) as {
      messages: { id: string; role: string }[]
      turns: { status: string; error: string | null }[]
    }
    const ids = body.messages.map((message) => message.id)
    for (const id of acknowledged) expect(ids).toContain(id)
    expect(body.turns.map((turn) => turn.status)).toEqual(["interrupted", "completed"])
    expect(body.turns[0]!.error).toContain("interrupted")
    // The interrupted history is still usable: the next turn completes.
    const next = (await (
      await gw.api(`/sessions/${sessionId}/turn`, { method: "POST", json: { input: "hello" } })
    ).json()) as { status: string }
    expect(next.status).toBe("completed")
    const status = (await (await gw.api("/status")).json()) as { state: string }
    expect(status.state).toBe("running")
    expect(await gw.stop()).toBe(0)
  }
  const db = new Database(ws.file(".drost/drost.db"), { readonly: true })
  expect((db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok")
  db.close()
  const events = await Bun.file(ws.file(".drost/logs/events.jsonl")).text()
  expect(events).toContain('"type":"session.turn.interrupted"')
})
