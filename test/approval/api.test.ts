/**
 * Approvals through the Control API, against a real gateway whose model (the loopback fake OpenAI)
 * calls `shell` with `tools.approve: ["shell"]`: the turn waits, GET lists the call, a decision with
 * the admin token lets it run or returns a denial to the model, the read token cannot decide, the
 * timeout denies. The same through POST /control/v1/tools/shell/execute. Every decision is on the SSE
 * stream and in .drost/approvals.jsonl.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { reply } from "../fake/openai.ts"
import type { FakeOpenAI } from "../fake/openai.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { approvalConfig, approvalEvents, journal, model, READ_TOKEN, toolResultSent } from "./lib.ts"

let llm: FakeOpenAI
let profile: Record<string, unknown>
beforeAll(async () => {
  ;({ llm, profile } = await model())
})
afterAll(() => llm.close())
// One model for every test: a reply an earlier test did not use must not answer the next one.
beforeEach(() => {
  while (llm.pending()) llm.next()
})

const shell = (command: string) => reply().tool("shell", { command })

async function session(gw: { api: (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response> }) {
  const response = await gw.api("/sessions", { method: "POST", json: { title: "approvals" } })
  return ((await response.json()) as { id: string }).id
}

describe("approvals over the Control API", () => {
  test("a model's shell call waits; GET lists it; the read token gets 403; approve runs it and the turn completes", async () => {
    await using ws = await workspace({ config: approvalConfig(profile) })
    await using gw = await spawnGateway(ws.path)
    const events = approvalEvents(gw)
    const id = await session(gw)
    llm.queue(shell("touch approved.txt && echo ran-after-approval"), reply().text("done"))
    const before = llm.hits.length
    const turn = gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "run it" } })

    const requested = await events.next("approval.requested", (data) => data.sessionId === id)
    expect(requested.tool).toBe("shell")
    const listed = (await (await gw.api("/approvals")).json()) as { approvals: Record<string, unknown>[] }
    expect(listed.approvals).toHaveLength(1)
    expect(listed.approvals[0]).toMatchObject({
      id: requested.id,
      tool: "shell",
      sessionId: id,
      args: { command: "touch approved.txt && echo ran-after-approval" },
    })
    // Nothing ran while it waits.
    expect(existsSync(ws.file("approved.txt"))).toBe(false)
    expect(llm.hits.length).toBe(before + 1)

    const asReader = await gw.api(`/approvals/${requested.id}`, {
      method: "POST",
      json: { decision: "approve" },
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    })
    expect(asReader.status).toBe(403)
    expect((await (await gw.api("/approvals")).json()) as object).toMatchObject({ approvals: [{ id: requested.id }] })

    const decided = await gw.api(`/approvals/${requested.id}`, { method: "POST", json: { decision: "approve" } })
    expect(decided.status).toBe(200)
    expect(await decided.json()).toMatchObject({
      id: requested.id,
      approved: true,
      decision: "approve",
      by: "control-api",
    })
    const result = (await (await turn).json()) as { status: string; text: string }
    expect(result).toMatchObject({ status: "completed", text: "done" })
    expect(existsSync(ws.file("approved.txt"))).toBe(true)
    expect(toolResultSent(llm, before + 1)).toContain("ran-after-approval")

    expect(await events.next("approval.decided", (data) => data.id === requested.id)).toMatchObject({
      approved: true,
      decision: "approve",
      by: "control-api",
      sessionId: id,
    })
    expect(journal(ws).map((line) => [line.type, line.id, line.decision ?? null])).toEqual([
      ["requested", requested.id, null],
      ["decided", requested.id, "approve"],
    ])
    // Decided: a second decision is a 404 that says why, and the list is empty.
    const again = await gw.api(`/approvals/${requested.id}`, { method: "POST", json: { decision: "deny" } })
    expect(again.status).toBe(404)
    expect(((await again.json()) as { message: string }).message).toContain("already decided")
    expect(await (await gw.api("/approvals")).json()).toEqual({ approvals: [] })
    // A wrong decision is a 400 naming the field.
    expect((await gw.api(`/approvals/${requested.id}`, { method: "POST", json: { decision: "yes" } })).status).toBe(400)
    events.close()
  }, 30_000)

  test("deny: the call does not run and the model is told a person refused it; timeout: denied too", async () => {
    await using ws = await workspace({ config: approvalConfig(profile, { approvalTimeoutMs: 1000 }) })
    await using gw = await spawnGateway(ws.path)
    const events = approvalEvents(gw)
    const id = await session(gw)

    llm.queue(shell("touch denied.txt"), reply().text("understood"))
    let before = llm.hits.length
    let turn = gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "run it" } })
    const first = await events.next("approval.requested", (data) => data.sessionId === id)
    const denied = await gw.api(`/approvals/${first.id}`, {
      method: "POST",
      json: { decision: "deny", reason: "not on my machine" },
    })
    expect(denied.status).toBe(200)
    expect(((await (await turn).json()) as { status: string }).status).toBe("completed")
    const told = toolResultSent(llm, before + 1)
    expect(told).toContain("denied by a person")
    expect(told).toContain("not on my machine")
    expect(told).toContain("Do not retry")
    expect(existsSync(ws.file("denied.txt"))).toBe(false)
    expect(await events.next("approval.decided", (data) => data.id === first.id)).toMatchObject({
      approved: false,
      decision: "deny",
      by: "control-api",
    })

    // Nobody answers: after tools.approvalTimeoutMs the call is denied and the turn goes on.
    llm.queue(shell("touch late.txt"), reply().text("ok"))
    before = llm.hits.length
    turn = gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "again" } })
    const second = await events.next("approval.requested", (data) => data.id !== first.id)
    expect(Number(second.expiresAt) - Number(second.requestedAt)).toBe(1000)
    expect(((await (await turn).json()) as { status: string }).status).toBe("completed")
    expect(toolResultSent(llm, before + 1)).toContain("nobody decided within 1 s")
    expect(existsSync(ws.file("late.txt"))).toBe(false)
    expect(await events.next("approval.decided", (data) => data.id === second.id)).toMatchObject({
      approved: false,
      decision: "timeout",
      by: "system",
    })
    expect(
      journal(ws)
        .filter((line) => line.type === "decided")
        .map((line) => line.decision),
    ).toEqual(["deny", "timeout"])
    events.close()
  }, 30_000)

  test("aborting the turn ends the wait: the approval is recorded as aborted and the call never runs", async () => {
    await using ws = await workspace({ config: approvalConfig(profile) })
    await using gw = await spawnGateway(ws.path)
    const events = approvalEvents(gw)
    const id = await session(gw)
    llm.queue(shell("touch aborted.txt"))
    const turn = gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "run it" } })
    const requested = await events.next("approval.requested", (data) => data.sessionId === id)
    expect(await (await gw.api(`/sessions/${id}/abort`, { method: "POST" })).json()).toEqual({ aborted: true })
    expect(await events.next("approval.decided", (data) => data.id === requested.id)).toMatchObject({
      approved: false,
      decision: "aborted",
      by: "system",
    })
    expect(((await (await turn).json()) as { status: string }).status).toBe("failed")
    expect(await (await gw.api("/approvals")).json()).toEqual({ approvals: [] })
    expect(existsSync(ws.file("aborted.txt"))).toBe(false)
    expect(journal(ws).map((line) => line.decision ?? line.type)).toEqual(["requested", "aborted"])
    events.close()
  }, 30_000)

  test("POST /tools/shell/execute waits for the same approval; 'session' then lets later calls run without asking", async () => {
    await using ws = await workspace({ config: approvalConfig(profile) })
    await using gw = await spawnGateway(ws.path)
    const events = approvalEvents(gw)
    const execute = (command: string) => gw.api("/tools/shell/execute", { method: "POST", json: { command } })

    const denied = execute("touch via-api.txt")
    const first = await events.next("approval.requested", (data) => data.sessionId === "control-api")
    expect(first.tool).toBe("shell")
    const asReader = await gw.api(`/approvals/${first.id}`, {
      method: "POST",
      json: { decision: "approve" },
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    })
    expect(asReader.status).toBe(403)
    await gw.api(`/approvals/${first.id}`, { method: "POST", json: { decision: "deny" } })
    const refused = (await (await denied).json()) as { isError: boolean; output: string }
    expect(refused.isError).toBe(true)
    expect(refused.output).toContain("denied by a person")
    expect(existsSync(ws.file("via-api.txt"))).toBe(false)

    const allowed = execute("echo first-run")
    const second = await events.next("approval.requested", (data) => data.id !== first.id)
    const decided = await gw.api(`/approvals/${second.id}`, { method: "POST", json: { decision: "session" } })
    expect(await decided.json()).toMatchObject({ approved: true, decision: "session" })
    expect(((await (await allowed).json()) as { output: string }).output).toContain("first-run")

    // Allowed for this session (the tool route's is "control-api"): no new request, it just runs.
    const third = (await (await execute("echo second-run")).json()) as { isError: boolean; output: string }
    expect(third.output).toContain("second-run")
    expect(events.seen.filter((event) => event.type === "approval.requested")).toHaveLength(2)
    expect(journal(ws).filter((line) => line.type === "requested")).toHaveLength(2)
    events.close()
  }, 30_000)

  test("a gateway killed while an approval waits: after the restart it is denied and recorded, never granted", async () => {
    await using ws = await workspace({ config: approvalConfig(profile) })
    let pendingId: string
    {
      const gw = await spawnGateway(ws.path)
      const events = approvalEvents(gw)
      const id = await session(gw)
      llm.queue(shell("touch after-restart.txt"))
      void gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "run it" } }).catch(() => {})
      pendingId = String((await events.next("approval.requested")).id)
      events.close()
      await gw.kill9()
    }
    expect(journal(ws).map((line) => line.type)).toEqual(["requested"])

    await using gw = await spawnGateway(ws.path)
    const events = approvalEvents(gw)
    expect(await events.next("approval.decided", (data) => data.id === pendingId)).toMatchObject({
      approved: false,
      decision: "restart",
      by: "system",
    })
    expect(await (await gw.api("/approvals")).json()).toEqual({ approvals: [] })
    const late = await gw.api(`/approvals/${pendingId}`, { method: "POST", json: { decision: "approve" } })
    expect(late.status).toBe(404)
    expect(existsSync(ws.file("after-restart.txt"))).toBe(false)
    expect(journal(ws).map((line) => [line.type, line.decision ?? null])).toEqual([
      ["requested", null],
      ["decided", "restart"],
    ])
    events.close()
  }, 30_000)
})
