import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Events } from "../../src/core/event.ts"
import { inProcess } from "./inprocess.ts"

const ROOT = join(import.meta.dir, "../..")

interface Operation {
  operationId?: string
  summary?: string
  description?: string
  security?: unknown[]
  requestBody?: { content: Record<string, { schema: { examples?: unknown[] } }> }
  responses?: Record<string, unknown>
}

describe("OpenAPI document", () => {
  test("every operation has an operationId and a description; guarded ones declare 401; bodies carry examples", async () => {
    await using api = await inProcess({ controlApi: { port: 0, openaiCompatible: true } })
    const response = await fetch(`${api.url}/control/v1/openapi.json`)
    expect(response.status).toBe(200)
    const doc = (await response.json()) as {
      openapi: string
      paths: Record<string, Record<string, Operation>>
      components: { securitySchemes: object }
    }
    expect(doc.openapi).toBe("3.1.2")
    expect(doc.components.securitySchemes).toHaveProperty("bearer")
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    )
    const ids = operations.map(({ op }) => op.operationId)
    expect(ids.every(Boolean)).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    for (const { path, method, op } of operations) {
      expect([path, method, Boolean(op.summary || op.description)]).toEqual([path, method, true])
      if (["/healthz", "/livez", "/readyz"].includes(path)) expect(op.security).toEqual([])
      else expect([path, Object.keys(op.responses ?? {})]).toEqual([path, expect.arrayContaining(["401"])])
    }
    for (const route of [
      "/control/v1/sessions",
      "/control/v1/sessions/{id}/turn",
      "/control/v1/runtime/restart",
      "/v1/chat/completions",
    ]) {
      const schema = doc.paths[route]!.post!.requestBody!.content["application/json"]!.schema
      expect([route, Array.isArray(schema.examples)]).toEqual([route, true])
    }
    // The core routes of the Control API are all there.
    for (const id of [
      "getStatus",
      "listSessions",
      "createSession",
      "getSession",
      "updateSession",
      "deleteSession",
      "runTurn",
      "abortTurn",
      "listProviders",
      "probeProviders",
      "listTools",
      "executeTool",
      "restartRuntime",
      "getUsage",
      "streamEvents",
      "openaiChatCompletions",
      "openaiListModels",
      "health",
    ])
      expect(ids).toContain(id)
    // The events route documents the union of every declared event.
    const events = JSON.stringify(doc.paths["/control/v1/events"]!.get!.responses!["200"])
    for (const def of Events.all()) expect(events).toContain(`"${def.type}"`)
  })

  test("passes @redocly/cli lint with 0 errors", async () => {
    await using api = await inProcess({ controlApi: { port: 0, openaiCompatible: true } })
    const file = api.ws.file("openapi.json")
    await Bun.write(file, await (await fetch(`${api.url}/control/v1/openapi.json`)).text())
    const proc = Bun.spawn([join(ROOT, "node_modules/.bin/redocly"), "lint", file, "--format=stylish"], {
      cwd: api.ws.path,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    })
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    const output = `${stdout}\n${stderr}`
    expect(output).not.toMatch(/^\s*\d+:\d+\s+error\b/m)
    expect(code).toBe(0)
    expect(output).toContain("valid")
  }, 60_000)
})
