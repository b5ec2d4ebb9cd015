import { describe, expect, test } from "bun:test"
import { controlClient } from "../../src/api/client.ts"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"

describe("sessions, tools, usage and runtime routes", () => {
  test("typed client (treaty<App>): create, list with paging and filters, read, rename and switch provider, turn, usage, delete", async () => {
    await using ws = await workspace({
      config: demoConfig({
        providers: {
          profiles: [
            { id: "demo", kind: "demo" },
            { id: "demo2", kind: "demo", model: "demo-2" },
          ],
        },
      }),
    })
    await using gw = await spawnGateway(ws.path)
    const api = controlClient(gw.url, gw.token)

    const created = []
    for (const title of ["alpha", "beta", "gamma", "Alphabet"]) {
      const { data, error, status } = await api.control.v1.sessions.post({ title })
      expect(error).toBeNull()
      expect(status).toBe(201)
      created.push(data!)
    }
    const page1 = await api.control.v1.sessions.get({ query: { limit: 3 } })
    expect(page1.data!.sessions).toHaveLength(3)
    expect(page1.data!.total).toBe(4)
    expect(page1.data!.nextOffset).toBe(3)
    const page2 = await api.control.v1.sessions.get({ query: { limit: 3, offset: 3 } })
    expect(page2.data!.sessions).toHaveLength(1)
    expect(page2.data!.nextOffset).toBeNull()
    const search = await api.control.v1.sessions.get({ query: { q: "alpha" } })
    expect(search.data!.sessions.map((session) => session.title).sort()).toEqual(["Alphabet", "alpha"])
    expect((await api.control.v1.sessions.get({ query: { channel: "telegram" } })).data!.total).toBe(0)

    const id = created[0]!.id
    const patched = await api.control.v1.sessions({ id }).patch({ title: "renamed", provider: "demo2" })
    expect(patched.data!.title).toBe("renamed")
    expect(patched.data!.pendingProvider).toBe("demo2")
    const badProvider = await api.control.v1.sessions({ id }).patch({ provider: "nope" })
    expect(badProvider.status).toBe(404)

    const turn = await api.control.v1.sessions({ id }).turn.post({ input: "hello" })
    expect(turn.error).toBeNull()
    const detail = await api.control.v1.sessions({ id }).get({ query: { limit: 1 } })
    expect(detail.data!.session.provider).toBe("demo2")
    expect(detail.data!.messages).toHaveLength(1)
    expect(detail.data!.messages[0]!.role).toBe("assistant")
    expect(detail.data!.turns[0]!.provider).toBe("demo2")
    const older = await api.control.v1
      .sessions({ id })
      .get({ query: { limit: 5, before: detail.data!.messages[0]!.seq } })
    expect(older.data!.messages.map((message) => message.role)).toEqual(["user"])

    const usage = await api.control.v1.usage.get()
    expect(usage.data!.totals.turns).toBe(1)
    expect(usage.data!.providers.map((row) => row.provider)).toEqual(["demo2"])
    expect(usage.data!.totals.input).toBeGreaterThan(0)

    expect((await api.control.v1.sessions({ id }).abort.post()).data).toEqual({ aborted: false })
    expect((await api.control.v1.sessions({ id }).delete()).data).toEqual({ deleted: id })
    expect((await api.control.v1.sessions({ id }).get({ query: {} })).status).toBe(404)
  }, 30_000)

  test("abort ends a running turn; the SSE turn stream reports it", async () => {
    await using ws = await workspace({ config: demoConfig({}, { delayMs: 50 }) })
    await using gw = await spawnGateway(ws.path)
    const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const response = await gw.api(`/sessions/${id}/turn`, {
      method: "POST",
      json: { input: "tell me something long" },
      headers: { accept: "text/event-stream" },
    })
    const seen: string[] = []
    for await (const event of readSse(response)) {
      seen.push(event.event)
      if (event.event === "session.turn.delta" && !seen.includes("aborted")) {
        const aborted = (await (await gw.api(`/sessions/${id}/abort`, { method: "POST" })).json()) as {
          aborted: boolean
        }
        expect(aborted.aborted).toBe(true)
        seen.push("aborted")
      }
    }
    expect(seen.at(-1)).toBe("turn.failed")
  }, 30_000)

  test("tools: list and execute with the registry's validation; providers; status", async () => {
    await using ws = await workspace({ config: demoConfig(), files: { "notes/a.txt": "hello\n" } })
    await using gw = await spawnGateway(ws.path)
    const tools = (await (await gw.api("/tools")).json()) as {
      tools: { name: string; source: string }[]
      rejected: unknown[]
    }
    expect(tools.tools.map((tool) => tool.name)).toContain("file.read")
    expect(Array.isArray(tools.rejected)).toBe(true)
    const ran = (await (
      await gw.api("/tools/file.list/execute", { method: "POST", json: { path: "notes" } })
    ).json()) as { output: string; isError: boolean }
    expect(ran.isError).toBe(false)
    expect(ran.output).toContain("a.txt")
    const invalid = (await (
      await gw.api("/tools/file.list/execute", { method: "POST", json: { path: 42 } })
    ).json()) as { output: string; isError: boolean }
    expect(invalid.isError).toBe(true)
    expect(invalid.output).toContain("path")
    expect((await gw.api("/tools/nope/execute", { method: "POST", json: {} })).status).toBe(404)

    const providers = (await (await gw.api("/providers")).json()) as {
      providers: { id: string; available: boolean; default: boolean }[]
    }
    expect(providers.providers).toEqual([expect.objectContaining({ id: "demo", available: true, default: true })])
    const probe = await gw.api("/providers/probe", { method: "POST", json: { timeoutMs: 1000 } })
    expect([200, 501]).toContain(probe.status)

    const status = (await (await gw.api("/status")).json()) as {
      state: string
      version: string
      lastEventId: number
      tools: string[]
    }
    expect(status.state).toBe("running")
    expect(status.lastEventId).toBeGreaterThan(0)
  }, 30_000)

  test("restart: dryRun checks the config; a real restart comes back on a new gateway; a broken config is refused with 409", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using gw = await spawnGateway(ws.path)
    const dry = (await (await gw.api("/runtime/restart", { method: "POST", json: { dryRun: true } })).json()) as {
      restarting: boolean
      config: { ok: boolean }
    }
    expect(dry).toMatchObject({ restarting: false, config: { ok: true } })

    const before = (await (await gw.api("/status")).json()) as { startedAt: number }
    const accepted = await gw.api("/runtime/restart", { method: "POST", json: {} })
    expect(accepted.status).toBe(202)
    // The same process serves again once the new gateway is up; with port 0 it prints a new readiness line.
    let after: { startedAt: number } | null = null
    for (let tries = 0; tries < 100 && !after; tries++) {
      const lines = gw
        .output()
        .split("\n")
        .filter((line) => line.startsWith('{"ready":true'))
      if (lines.length >= 2) {
        const url = (JSON.parse(lines.at(-1)!) as { url: string }).url
        after = (await (
          await fetch(`${url}/control/v1/status`, { headers: { authorization: `Bearer ${gw.token}` } })
        ).json()) as { startedAt: number }
      } else await Bun.sleep(50)
    }
    expect(after!.startedAt).toBeGreaterThan(before.startedAt)

    ws.write("drost.config.json", JSON.stringify({ ...demoConfig(), agent: { maxSteps: "many" } }))
    const url = (
      JSON.parse(
        gw
          .output()
          .split("\n")
          .filter((line) => line.startsWith('{"ready":true'))
          .at(-1)!,
      ) as { url: string }
    ).url
    const refused = await fetch(`${url}/control/v1/runtime/restart`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.token}`, "content-type": "application/json" },
      body: "{}",
    })
    expect(refused.status).toBe(409)
    const body = (await refused.json()) as { restarting: boolean; config: { ok: boolean; issues: string[] } }
    expect(body.restarting).toBe(false)
    expect(body.config.issues.join("\n")).toContain("agent.maxSteps")
  }, 30_000)

  test("/healthz answers 503 with reasons when the gateway is degraded", async () => {
    // A provider whose start-up probe fails (nothing listens on port 1) marks the gateway degraded.
    const profiles = [
      { id: "demo", kind: "demo" },
      { id: "broken", kind: "openai-compatible", baseUrl: "http://127.0.0.1:1/v1", model: "m" },
    ]
    await using ws = await workspace({
      config: demoConfig({ providers: { profiles, probeOnStart: true, probeTimeoutMs: 1000 } }),
    })
    await using gw = await spawnGateway(ws.path)
    const health = await gw.api("/healthz")
    const body = (await health.json()) as { state: string; reasons: string[] }
    expect(health.status).toBe(503)
    expect(body.state).toBe("degraded")
    expect(body.reasons.join("\n")).toContain("broken")
  }, 30_000)
})
