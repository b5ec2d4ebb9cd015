import { describe, expect, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { inProcess } from "./inprocess.ts"

const READ = "read-token-0123456789abcdef"

describe("Control API auth and errors", () => {
  test("auth matrix: no token / read / admin × read and mutation routes, 401 before validation", async () => {
    await using ws = await workspace({ config: demoConfig({ controlApi: { port: 0, readToken: READ } }) })
    await using gw = await spawnGateway(ws.path)
    const { id } = (await (await gw.api("/sessions", { method: "POST", json: { title: "matrix" } })).json()) as {
      id: string
    }
    const as = (token: string | null) => (token ? { authorization: `Bearer ${token}` } : { authorization: "" })
    const call = async (token: string | null, method: string, path: string, body?: unknown) => {
      const headers: Record<string, string> = { ...as(token) }
      if (body !== undefined) headers["content-type"] = "application/json"
      const response = await fetch(`${gw.url}/control/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      })
      return response.status
    }
    const reads: [string, string][] = [
      ["GET", "/status"],
      ["GET", "/sessions"],
      ["GET", `/sessions/${id}`],
      ["GET", "/providers"],
      ["GET", "/tools"],
      ["GET", "/usage"],
    ]
    const mutations: [string, string, unknown][] = [
      ["POST", "/sessions", { title: "x" }],
      ["PATCH", `/sessions/${id}`, { title: "renamed" }],
      ["POST", `/sessions/${id}/abort`, undefined],
      ["POST", "/runtime/restart", { dryRun: true }],
    ]
    for (const [method, path] of reads) {
      expect([path, await call(null, method, path)]).toEqual([path, 401])
      expect([path, await call("wrong-token-wrong-token", method, path)]).toEqual([path, 401])
      expect([path, await call(READ, method, path)]).toEqual([path, 200])
      expect([path, await call(gw.token, method, path)]).toEqual([path, 200])
    }
    for (const [method, path, body] of mutations) {
      expect([path, await call(null, method, path, body)]).toEqual([path, 401])
      expect([path, await call(READ, method, path, body)]).toEqual([path, 403])
      expect([path, await call(gw.token, method, path, body)]).toEqual([path, path === "/sessions" ? 201 : 200])
    }
    // A bad body never reveals the schema to someone without the right token.
    expect(await call(null, "POST", `/sessions/${id}/turn`, { input: 42 })).toBe(401)
    expect(await call(null, "POST", `/sessions/${id}/turn`, "{not json")).toBe(401)
    expect(await call(READ, "POST", `/sessions/${id}/turn`, { input: 42 })).toBe(403)
    expect(await call(gw.token, "POST", `/sessions/${id}/turn`, { input: 42 })).toBe(400)
    expect(await call(gw.token, "DELETE", `/sessions/${id}`)).toBe(200)
    // Public: health and docs need no token.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${gw.url}/control/v1/openapi.json`)).status).toBe(200)
    expect((await fetch(`${gw.url}/control/v1/docs`)).status).toBe(200)
  }, 30_000)

  test("errors: 400 naming each field, malformed JSON 400, unknown session 404, body too large 413, unknown route 404", async () => {
    await using ws = await workspace({ config: demoConfig({ controlApi: { port: 0, maxBodyBytes: 4096 } }) })
    await using gw = await spawnGateway(ws.path)
    const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }

    const invalid = await gw.api(`/sessions/${id}/turn`, {
      method: "POST",
      json: { input: 1, images: [{ mediaType: 2 }] },
    })
    expect(invalid.status).toBe(400)
    const body = (await invalid.json()) as { error: string; fields: { path: string; message: string }[] }
    expect(body.error).toBe("Invalid")
    const paths = body.fields.map((field) => field.path)
    expect(paths).toContain("body.input")
    expect(paths.some((path) => path.startsWith("body.images[0]"))).toBe(true)

    const query = await gw.api("/sessions?limit=9999")
    expect(query.status).toBe(400)
    expect(((await query.json()) as { fields: { path: string }[] }).fields[0]!.path).toBe("query.limit")

    const malformed = await gw.api(`/sessions/${id}/turn`, {
      method: "POST",
      body: '{"input": "hi"',
      headers: { "content-type": "application/json" },
    })
    expect(malformed.status).toBe(400)
    expect(((await malformed.json()) as { message: string }).message).toContain("not valid JSON")

    const unknown = await gw.api("/sessions/ses_nope", { method: "PATCH", json: { title: "x" } })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: "NotFound", message: 'unknown session "ses_nope"' })

    const huge = await gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: "x".repeat(10_000) } })
    expect(huge.status).toBe(413)
    expect((await gw.api("/nope/nope")).status).toBe(404)
    expect((await gw.api("/control/v1/nope")).status).toBe(404)
    expect((await gw.api("/healthz")).status).toBe(200)
  }, 30_000)

  test("mutations over controlApi.mutationsPerMinute get 429 with Retry-After; reads are not limited", async () => {
    await using ws = await workspace({ config: demoConfig({ controlApi: { port: 0, mutationsPerMinute: 5 } }) })
    await using gw = await spawnGateway(ws.path)
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) statuses.push((await gw.api("/sessions", { method: "POST", json: {} })).status)
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429])
    const limited = await gw.api("/sessions", { method: "POST", json: {} })
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
    expect((await limited.json()) as { error: string }).toMatchObject({ error: "RateLimited" })
    for (let i = 0; i < 10; i++) expect((await gw.api("/sessions")).status).toBe(200)
  }, 30_000)

  test("an internal failure is a 500 with an error id and no stack or raw message", async () => {
    await using api = await inProcess()
    api.gw.storage.local.run("ALTER TABLE sessions RENAME TO sessions_away") // a real fault: session queries now throw
    const response = await api.fetch("/control/v1/sessions")
    api.gw.storage.local.run("ALTER TABLE sessions_away RENAME TO sessions")
    expect(response.status).toBe(500)
    const body = (await response.json()) as Record<string, string>
    expect(body.error).toBe("Internal")
    expect(body.errorId).toMatch(/^err_[0-9a-f]{8}$/)
    expect(JSON.stringify(body)).not.toMatch(/at |\.ts:|no such table|sessions_away|SQLite/i)
  }, 30_000)

  test("refuses to serve on a non-loopback address without a configured token", async () => {
    await using ws = await workspace({ config: demoConfig({ controlApi: { port: 0, host: "0.0.0.0" } }) })
    const result = await runCli(["start"], { cwd: ws.path })
    expect(result.code).not.toBe(0)
    expect(result.stderr + result.stdout).toContain("not loopback")
  }, 30_000)
})
