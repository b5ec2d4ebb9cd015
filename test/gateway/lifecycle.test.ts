import { describe, expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"

describe("gateway lifecycle", () => {
  test("a turn through the Control API calls a real tool, and the session survives a restart", async () => {
    await using ws = await workspace({ config: demoConfig(), files: { "notes/todo.txt": "buy milk\n" } })
    let sessionId: string
    {
      await using gw = await spawnGateway(ws.path)
      expect((await gw.api("/healthz")).status).toBe(200)
      const session = (await (await gw.api("/sessions", { method: "POST", json: { title: "t" } })).json()) as {
        id: string
      }
      sessionId = session.id
      const response = await gw.api(`/sessions/${sessionId}/turn`, {
        method: "POST",
        json: { input: "read notes/todo.txt" },
      })
      expect(response.status).toBe(200)
      const result = (await response.json()) as { status: string; text: string }
      expect(result.status).toBe("completed")
      expect(result.text).toContain("buy milk")
      expect(await gw.stop()).toBe(0)
    }
    {
      await using gw = await spawnGateway(ws.path)
      const body = (await (await gw.api(`/sessions/${sessionId}`)).json()) as {
        session: { messageCount: number }
        messages: { role: string; parts: { type: string; name?: string; output?: string }[] }[]
        turns: { status: string }[]
      }
      expect(body.session.messageCount).toBe(4)
      expect(body.messages.map((message) => message.role)).toEqual(["user", "assistant", "tool", "assistant"])
      expect(body.messages[2]!.parts[0]).toMatchObject({ type: "tool-result", name: "file.read" })
      expect(body.messages[2]!.parts[0]!.output).toContain("buy milk")
      expect(body.turns.map((turn) => turn.status)).toEqual(["completed"])
    }
    const logs = await Bun.file(ws.file(".drost/logs/events.jsonl")).text()
    expect(logs).toContain('"type":"tool.call.completed"')
    expect(logs).toContain('"type":"provider.response"')
    expect(await Bun.file(ws.file(".drost/logs/usage.jsonl")).exists()).toBe(true)
  })

  test("a second gateway on the same workspace refuses to start and names the first one's pid", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using first = await spawnGateway(ws.path)
    const second = await runCli(["start"], { cwd: ws.path })
    expect(second.code).toBe(78)
    expect(second.stderr).toContain(`pid ${first.pid}`)
    expect((await first.api("/healthz")).status).toBe(200)
  })

  test("with stdin at /dev/null it runs as a server and stops cleanly on SIGTERM", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using gw = await spawnGateway(ws.path)
    expect(gw.output()).toContain("running as a server")
    expect(await gw.stop()).toBe(0)
    expect(await Bun.file(ws.file(".drost/gateway.pid")).exists()).toBe(false)
  })

  test("SIGTERM during a turn lets it finish within the grace period", async () => {
    await using ws = await workspace({ config: demoConfig({ shutdown: { graceMs: 5000 } }, { delayMs: 20 }) })
    await using gw = await spawnGateway(ws.path)
    const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const response = await gw.api(`/sessions/${id}/turn`, {
      method: "POST",
      json: { input: "hello there" },
      headers: { accept: "text/event-stream" },
    })
    const events = readSse(response)
    // Step the iterator by hand: leaving a for-await with break would close the stream.
    for (
      let next = await events.next();
      !next.done && next.value.event !== "session.turn.delta";
      next = await events.next()
    ) {}
    gw.proc.kill("SIGTERM")
    const seen: string[] = []
    for await (const event of events) seen.push(event.event)
    expect(seen.at(-1)).toBe("turn.completed")
    expect(await gw.proc.exited).toBe(0)
  })

  test("a turn still running when the grace period ends is marked interrupted", async () => {
    await using ws = await workspace({ config: demoConfig({ shutdown: { graceMs: 100 } }, { delayMs: 200 }) })
    await using gw = await spawnGateway(ws.path)
    const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const response = await gw.api(`/sessions/${id}/turn`, {
      method: "POST",
      json: { input: "hello there" },
      headers: { accept: "text/event-stream" },
    })
    for await (const event of readSse(response)) if (event.event === "turn.accepted") break
    expect(await gw.stop()).toBe(0)
    const db = new Database(ws.file(".drost/drost.db"), { readonly: true })
    const turn = db.query("SELECT status, error FROM turns").get() as { status: string; error: string }
    db.close()
    expect(turn.status).toBe("interrupted")
    expect(turn.error).toContain("shutdown")
  })

  test("unauthenticated requests get 401 before any validation", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using gw = await spawnGateway(ws.path)
    const bad = await gw.api("/sessions/x/turn", {
      method: "POST",
      json: { nope: 1 },
      headers: { authorization: "Bearer wrong" },
    })
    expect(bad.status).toBe(401)
    const invalid = await gw.api("/sessions/x/turn", { method: "POST", json: { nope: 1 } })
    expect(invalid.status).toBe(400)
    const unknown = await gw.api("/sessions/ses_nope/turn", { method: "POST", json: { input: "hi" } })
    expect(unknown.status).toBe(404)
  })
})
