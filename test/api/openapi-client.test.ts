/**
 * The Control API document as third-party tools read it (issue 16 item 7), from a real gateway
 * (`bun src/index.ts start` in a workspace, no channel configured) over HTTP:
 * - every operation has a description, a described 2xx with a schema, and the errors it can answer;
 * - the event types it lists are exactly the ones `defineEvent` declares anywhere in src/ (found by
 *   scanning the source, so a new event, or one whose module loads late, cannot be missed);
 * - `openapi-typescript` generates types from it that compile with tsc together with a typed usage file
 *   (before, 7 operations had no 2xx schema and typed clients got `never`:
 *   `TS2339 Property 'queues' does not exist on type 'never'`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const ROOT = join(import.meta.dir, "../..")

interface Response_ {
  description?: string
  content?: Record<string, { schema?: unknown }>
}
interface Operation {
  operationId: string
  description?: string
  security?: unknown[]
  parameters?: { in: string; name: string }[]
  requestBody?: unknown
  responses: Record<string, Response_>
}
interface Doc {
  paths: Record<string, Record<string, Operation>>
}

/** The OpenAI-compatible surface and the MCP route are documented and tested by their own files. */
const elsewhere = (path: string) => path === "/v1" || path.startsWith("/v1/") || path.startsWith("/mcp")
const PLACEHOLDER = /^Response for status/

let ws: Workspace
let gw: RunningGateway
let text = ""
let doc: Doc

beforeAll(async () => {
  ws = await workspace({ config: demoConfig({ controlApi: { port: 0, openaiCompatible: true } }) })
  gw = await spawnGateway(ws.path)
  const response = await fetch(`${gw.url}/control/v1/openapi.json`)
  expect(response.status).toBe(200)
  text = await response.text()
  doc = JSON.parse(text) as Doc
}, 30_000)

afterAll(async () => {
  await gw?.stop()
  await ws?.[Symbol.asyncDispose]()
})

function operations() {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  )
}

describe("the Control API document", () => {
  test("every operation has a description, a described 2xx with a schema, and its error responses", () => {
    const problems: string[] = []
    for (const { path, method, op } of operations()) {
      if (elsewhere(path)) continue
      const where = `${method.toUpperCase()} ${path} (${op.operationId})`
      if (!op.description?.trim()) problems.push(`${where}: no description`)
      const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status))
      if (success.length === 0) problems.push(`${where}: no 2xx response`)
      for (const [status, response] of success) {
        const schemas = Object.values(response.content ?? {}).filter((media) => media.schema)
        if (schemas.length === 0) problems.push(`${where}: ${status} has no schema`)
      }
      for (const [status, response] of Object.entries(op.responses))
        if (!response.description || PLACEHOLDER.test(response.description))
          problems.push(`${where}: ${status} is not described ("${response.description ?? ""}")`)
      const documented = (status: string) => status in op.responses
      const guarded = !(Array.isArray(op.security) && op.security.length === 0)
      const mutation = ["post", "put", "patch", "delete"].includes(method)
      const needs = [
        ...(guarded ? ["401"] : []),
        ...(guarded && mutation ? ["403", "413", "429"] : []),
        ...(op.requestBody || op.parameters?.some((parameter) => parameter.in === "query") ? ["400"] : []),
        ...(op.parameters?.some((parameter) => parameter.in === "path") ? ["404"] : []),
      ]
      for (const status of needs) if (!documented(status)) problems.push(`${where}: ${status} is not documented`)
    }
    expect(problems).toEqual([])
  })

  test("restartRuntime says a supervised restart is a new process", () => {
    const restart = doc.paths["/control/v1/runtime/restart"]!.post!
    expect(restart.description).not.toContain("restarts in the same process")
    expect(restart.description).toContain("new gateway process")
  })

  test("GET /events is documented as a stream Swagger UI cannot show (issue 15 item 16)", () => {
    const events = doc.paths["/control/v1/events"]!.get!
    expect(Object.keys(events.responses["200"]!.content ?? {})).toEqual(["text/event-stream"])
    expect(events.description).toContain("never ends")
    expect(events.description).toContain("Swagger UI cannot show it")
  })

  test("the event types are every type declared with defineEvent in src/", () => {
    const declared = new Set<string>()
    for (const file of new Bun.Glob("**/*.ts").scanSync(join(ROOT, "src"))) {
      const source = readFileSync(join(ROOT, "src", file), "utf8")
      for (const match of source.matchAll(/defineEvent\(\s*"([a-z][a-z0-9_.]*)"/g)) declared.add(match[1]!)
    }
    expect(declared.size).toBeGreaterThan(30)
    expect([...declared].filter((type) => type.startsWith("telegram.")).length).toBeGreaterThan(0)
    expect([...declared].filter((type) => type.startsWith("approval.")).length).toBeGreaterThan(0)
    const events = doc.paths["/control/v1/events"]!.get!
    const union = JSON.stringify(events.responses["200"]!.content!["text/event-stream"]!.schema)
    const listed = events.description!.slice(events.description!.indexOf("Types: "))
    const missing = [...declared].filter((type) => !union.includes(`"${type}"`) || !listed.includes(type))
    expect(missing).toEqual([])
  })
})

describe("openapi-typescript", () => {
  test("generates types from the live document that compile with a typed usage file", async () => {
    const dir = ws.file("client")
    await Bun.write(join(dir, "openapi.json"), text)
    const generate = Bun.spawnSync(
      [join(ROOT, "node_modules/.bin/openapi-typescript"), "openapi.json", "-o", "drost-api.ts"],
      { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } },
    )
    expect([generate.exitCode, generate.stderr.toString()]).toEqual([0, ""])
    // A response type for every JSON 2xx of every operation, each checked not to be `never`.
    const checks = operations()
      .filter(({ path }) => !elsewhere(path))
      .flatMap(({ op }) => {
        const [status, response] = Object.entries(op.responses).find(([code]) => /^2\d\d$/.test(code)) ?? []
        const media = Object.keys(response?.content ?? {})[0]
        return status && media
          ? [`  ${op.operationId}: ok(null! as Body<"${op.operationId}", ${status}, "${media}">),`]
          : []
      })
    await Bun.write(
      join(dir, "usage.ts"),
      `import type { operations, paths } from "./drost-api"

type Body<O extends keyof operations, S extends keyof operations[O]["responses"], M extends string> =
  operations[O]["responses"][S] extends { content: Record<M, infer B> } ? B : never
/** Fails to compile for a type that is never (an operation without a 2xx schema). */
function ok<T>(value: [T] extends [never] ? "this operation has no 2xx schema" : T): T {
  return value as T
}
export const every = {
${checks.join("\n")}
}

type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends {
  responses: Record<S, { content: { "application/json": infer B } }>
}
  ? B
  : never

export function read(
  status: Json<"/control/v1/status", "get", 200>,
  queues: Json<"/control/v1/queues", "get", 200>,
  prompt: Json<"/control/v1/prompt", "get", 200>,
  exported: Json<"/control/v1/sessions/{id}/export", "get", 200>,
  retention: Json<"/control/v1/retention", "post", 200>,
  schedules: Json<"/control/v1/schedules", "get", 200>,
  created: Json<"/control/v1/sessions", "post", 201>,
  missing: Json<"/control/v1/sessions/{id}", "get", 404>,
) {
  const waiting: number = status.queues.length ? status.queues[0]!.waiting : 0
  const running: string | null = queues.queues[0]?.running ?? null
  const system: string = prompt.system.text
  const format: "drost.session" = exported.format
  const bytes: number = retention.sessions[0]?.bytes ?? 0
  const next: number | null = schedules.schedules[0]?.next ?? null
  const provider: string = created.provider
  const code: string = missing.error
  // @ts-expect-error queues is an array of objects, not a string (the types are not \`any\`)
  const wrong: string = status.queues
  return { waiting, running, system, format, bytes, next, provider, code, wrong }
}
`,
    )
    await Bun.write(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2022"],
          types: [],
          noUncheckedIndexedAccess: true,
        },
        files: ["usage.ts"],
      }),
    )
    const compile = Bun.spawnSync([join(ROOT, "node_modules/.bin/tsc"), "-p", "tsconfig.json"], {
      cwd: dir,
      stdout: "pipe",
      stderr: "pipe",
    })
    expect([compile.exitCode, `${compile.stdout}${compile.stderr}`]).toEqual([0, ""])
    expect(checks.length).toBeGreaterThan(30)
  }, 60_000)
})
