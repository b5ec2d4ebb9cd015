/**
 * Contract test of the Control API document (issue 16 item 7): real requests against a live gateway
 * (real HTTP on 127.0.0.1), and every answer checked against the document that gateway serves. For each
 * answer, its status must be one the operation documents, and a JSON body must validate (Ajv, JSON
 * Schema 2020-12 as OpenAPI 3.1 uses it) against the schema documented for that status. Every operation
 * of the Control API (/control/v1 and the probes) is exercised with its success case, and each guarded
 * one with at least one error; the run fails when an operation was left out, so a new route needs a
 * case here. The OpenAI-compatible /v1 routes and /mcp are covered by their own tests.
 *
 * Also checks issue 15 item 16: the example body of POST /sessions, sent as Swagger UI's "Execute"
 * sends it, creates a session on the configured default provider (not the demo one).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { rmSync } from "node:fs"
import Ajv2020 from "ajv/dist/2020"
import type { ValidateFunction } from "ajv"
import { readSse } from "../lib/sse.ts"
import { type InProcess, inProcess } from "./inprocess.ts"

interface Operation {
  operationId: string
  security?: unknown[]
  requestBody?: { content: Record<string, { schema: { examples?: unknown[] } }> }
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>
}
interface Doc {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}
interface Found {
  path: string
  method: string
  op: Operation
}

/** Covered elsewhere: the OpenAI-compatible surface (test/api/openai*.test.ts) and the MCP server. */
const elsewhere = (path: string) => path === "/v1" || path.startsWith("/v1/") || path.startsWith("/mcp")

let api: InProcess
let doc: Doc
const ops = new Map<string, Found>()
const seen = new Map<string, Set<number>>()
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
const validators = new Map<string, ValidateFunction>()

/** The schema with its `#/components/...` references pointed at the document's components. */
function rebased(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/components/', '"$ref":"drost-doc#/components/'))
}

function validator(key: string, schema: unknown): ValidateFunction {
  let validate = validators.get(key)
  if (!validate) {
    validate = ajv.compile(rebased(schema) as object)
    validators.set(key, validate)
  }
  return validate
}

interface Call {
  params?: Record<string, string>
  query?: Record<string, string | number | boolean>
  body?: unknown
  /** A raw body (sent as is with Content-Type: application/json). */
  raw?: string
  token?: string | null
  headers?: Record<string, string>
  signal?: AbortSignal
}

interface Answer {
  status: number
  body: unknown
  response: Response
}

/** One request to the operation `id`; checks the answer against the document and records it. */
async function call(id: string, input: Call = {}): Promise<Answer> {
  const found = ops.get(id)
  if (!found) throw new Error(`operation ${id} is not in the document`)
  let path = found.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(input.params?.[name] ?? ""))
  const query = new URLSearchParams(
    Object.entries(input.query ?? {}).map(([key, value]): [string, string] => [key, String(value)]),
  )
  if (query.size) path += `?${query}`
  const headers = new Headers(input.headers)
  const token = input.token === undefined ? api.token : input.token
  if (token) headers.set("authorization", `Bearer ${token}`)
  const payload = input.raw ?? (input.body === undefined ? undefined : JSON.stringify(input.body))
  if (payload !== undefined) headers.set("content-type", "application/json")
  const response = await fetch(`${api.url}${path}`, {
    method: found.method.toUpperCase(),
    headers,
    body: payload,
    signal: input.signal,
  })
  const documented = found.op.responses[String(response.status)]
  expect([id, response.status, documented ? "documented" : "not documented"]).toEqual([
    id,
    response.status,
    "documented",
  ])
  const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim()
  let body: unknown = null
  if (type === "text/event-stream") {
    expect([id, Object.keys(documented!.content ?? {})]).toEqual([id, expect.arrayContaining(["text/event-stream"])])
    body = response // the caller reads the stream
  } else if (type === "text/plain" && response.status < 300) {
    // GET /metrics: the Prometheus text format, documented as text/plain (test/metrics/ parses it).
    expect([id, Object.keys(documented!.content ?? {})]).toEqual([id, expect.arrayContaining(["text/plain"])])
    body = await response.text()
  } else {
    const text = await response.text()
    expect([id, response.status, type]).toEqual([id, response.status, "application/json"])
    body = JSON.parse(text)
    const schema = documented!.content?.["application/json"]?.schema
    expect([id, response.status, schema ? "has a schema" : "no schema"]).toEqual([id, response.status, "has a schema"])
    const validate = validator(`${id} ${response.status}`, schema)
    const valid = validate(body)
    expect([id, response.status, valid ? [] : validate.errors, valid ? null : body]).toEqual([
      id,
      response.status,
      [],
      null,
    ])
  }
  if (!seen.has(id)) seen.set(id, new Set())
  seen.get(id)!.add(response.status)
  return { status: response.status, body, response }
}

async function expectStatus(id: string, status: number, input: Call = {}) {
  const answer = await call(id, input)
  expect([id, answer.status]).toEqual([id, status])
  // biome-ignore lint/suspicious/noExplicitAny: the body was just validated against the document; tests read its fields
  return answer.body as any
}

const NONE = "ses_0000000000000000000000000"

beforeAll(async () => {
  api = await inProcess({
    controlApi: { port: 0, readToken: "read-token-0123456789abcdef" },
    tools: { approve: ["file.read"] },
    evolution: { mutableRoots: ["prompts"], validation: { commands: [] } },
  })
  await Bun.write(api.ws.file("prompts/system.md"), "You are a test agent.\n")
  await Bun.write(api.ws.file("notes.txt"), "hello\n")
  doc = (await (await fetch(`${api.url}/control/v1/openapi.json`)).json()) as Doc
  ajv.addSchema({ $id: "drost-doc", components: doc.components })
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods))
      if (!elsewhere(path)) ops.set(op.operationId, { path, method, op })
}, 30_000)

afterAll(async () => {
  await api?.[Symbol.asyncDispose]()
})

const READ = "read-token-0123456789abcdef"

describe("Control API contract", () => {
  test("probes and runtime", async () => {
    expect((await expectStatus("health", 200, { token: null })).state).toBe("running")
    expect((await expectStatus("live", 200, { token: null })).live).toBe(true)
    expect((await expectStatus("ready", 200, { token: null })).state).toBe("running")
    const status = await expectStatus("getStatus", 200)
    expect(Array.isArray(status.queues)).toBe(true)
    await expectStatus("getStatus", 401, { token: null })
    await expectStatus("getStatus", 401, { token: "wrong-token-0123456789abcdef" })
    expect((await expectStatus("whoami", 200)).role).toBe("admin")
    expect((await expectStatus("whoami", 200, { token: READ })).role).toBe("read")
    await expectStatus("whoami", 401, { token: null })
    expect((await expectStatus("createDashboardLink", 201)).url).toMatch(/\/#\/login\/[\w-]{43}$/)
    expect((await expectStatus("createDashboardLink", 201, { body: { role: "read" } })).role).toBe("read")
    await expectStatus("createDashboardLink", 400, { body: { role: "owner" } })
    await expectStatus("createDashboardLink", 403, { token: READ })

    expect((await expectStatus("restartRuntime", 200, { body: { dryRun: true } })).config.ok).toBe(true)
    await expectStatus("restartRuntime", 400, { body: { dryRun: "yes" } })
    await expectStatus("restartRuntime", 403, { body: { dryRun: true }, token: READ })
    // A config the restart would refuse: 409, and nothing restarts.
    const file = api.ws.file("drost.config.json")
    await Bun.write(file, '{ "providers": { "profiles": [{ "id": "x", "kind": "nope" }] } }')
    const refused = await expectStatus("restartRuntime", 409, {})
    expect(refused.config.ok).toBe(false)
    rmSync(file)
    // In this process nobody acts on the request (the CLI does): the answer is what a client sees.
    expect((await expectStatus("restartRuntime", 202, {})).restarting).toBe(true)
  })

  test("sessions, turns, continuity", async () => {
    const created = await expectStatus("createSession", 201, { body: { title: "contract" } })
    const id = created.id as string
    await expectStatus("createSession", 400, { body: { title: 5 } })
    await expectStatus("createSession", 400, { raw: "{ not json" })
    await expectStatus("createSession", 404, { body: { provider: "nope" } })
    await expectStatus("createSession", 403, { body: {}, token: READ })

    expect((await expectStatus("listSessions", 200, { query: { limit: 5 } })).total).toBeGreaterThan(0)
    await expectStatus("listSessions", 400, { query: { limit: 0 } })

    const turn = await expectStatus("runTurn", 200, { params: { id }, body: { input: "list files" } })
    expect(turn.status).toBe("completed")
    await expectStatus("runTurn", 400, { params: { id }, body: { input: "" } })
    await expectStatus("runTurn", 404, { params: { id: NONE }, body: { input: "hi" } })
    // The same operation as a stream.
    const streamed = await call("runTurn", {
      params: { id },
      body: { input: "list files" },
      headers: { accept: "text/event-stream" },
    })
    const kinds: string[] = []
    for await (const event of readSse(streamed.body as Response)) kinds.push(event.event)
    expect(kinds[0]).toBe("turn.accepted")
    expect(kinds.at(-1)).toBe("turn.completed")

    const read = await expectStatus("getSession", 200, { params: { id }, query: { limit: 10 } })
    expect(read.messages.length).toBeGreaterThan(1)
    await expectStatus("getSession", 404, { params: { id: NONE } })
    await expectStatus("getSession", 400, { params: { id }, query: { limit: "many" } })

    expect((await expectStatus("updateSession", 200, { params: { id }, body: { title: "renamed" } })).title).toBe(
      "renamed",
    )
    await expectStatus("updateSession", 400, { params: { id }, body: {} })
    await expectStatus("updateSession", 404, { params: { id: NONE }, body: { title: "x" } })

    expect((await expectStatus("abortTurn", 200, { params: { id } })).aborted).toBe(false)
    await expectStatus("abortTurn", 404, { params: { id: NONE } })

    const prompt = await expectStatus("getPrompt", 200, { query: { session: id } })
    expect(prompt.history.length).toBeGreaterThan(0)
    expect(prompt.system.text).toContain("test agent")
    await expectStatus("getPrompt", 200, {})
    await expectStatus("getPrompt", 404, { query: { session: NONE } })

    await expectStatus("getQueues", 200)
    await expectStatus("getQueues", 401, { token: null })
    await expectStatus("getSchedules", 200)
    await expectStatus("getSchedules", 401, { token: null })
    const schedule = await expectStatus("createSchedule", 201, {
      body: { prompt: "check the mail", cron: "0 9 * * MON-FRI" },
    })
    await expectStatus("createSchedule", 400, { body: { prompt: "x", cron: "0 9 * * MONDAYS" } })
    await expectStatus("createSchedule", 400, { body: { prompt: "x", in: "10m", every: "1h" } })
    await expectStatus("createSchedule", 403, { body: { prompt: "x", in: "10m" }, token: READ })
    expect((await expectStatus("getSchedule", 200, { params: { id: schedule.id } })).cron).toBe("0 9 * * MON-FRI")
    await expectStatus("getSchedule", 404, { params: { id: "sch_none" } })
    expect(
      (await expectStatus("updateSchedule", 200, { params: { id: schedule.id }, body: { enabled: false } })).state,
    ).toBe("paused")
    await expectStatus("updateSchedule", 400, { params: { id: schedule.id }, body: { timeZone: "Mars/Olympus" } })
    await expectStatus("updateSchedule", 404, { params: { id: "sch_none" }, body: { enabled: false } })
    expect((await expectStatus("deleteSchedule", 200, { params: { id: schedule.id } })).deleted).toBe(schedule.id)
    await expectStatus("deleteSchedule", 404, { params: { id: schedule.id } })

    const exported = await expectStatus("exportSession", 200, { params: { id } })
    expect([exported.format, exported.messages.length > 1]).toEqual(["drost.session", true])
    await expectStatus("exportSession", 404, { params: { id: NONE } })
    const imported = await expectStatus("importSession", 200, { body: exported })
    expect(imported.messages).toBe(exported.messages.length)
    await expectStatus("importSession", 400, { body: { format: "drost.session", version: 999 } })
    await expectStatus("importSession", 400, { body: { format: "other" } })

    const next = await expectStatus("continueSession", 200, { params: { id }, body: { fresh: true } })
    expect(next.from).toBe(id)
    await expectStatus("continueSession", 404, { params: { id: NONE } })
    await expectStatus("continueSession", 400, { params: { id }, body: { fresh: "yes" } })

    const plan = await expectStatus("applyRetention", 200, { body: { dryRun: true, maxSessions: 1 } })
    expect(plan.dryRun).toBe(true)
    await expectStatus("applyRetention", 400, { body: { dryRun: true } })
    await expectStatus("applyRetention", 400, { body: { maxSessions: 0 } })

    expect((await expectStatus("deleteSession", 200, { params: { id: imported.sessionId } })).deleted).toBe(
      imported.sessionId,
    )
    await expectStatus("deleteSession", 404, { params: { id: NONE } })
    await expectStatus("deleteSession", 403, { params: { id }, token: READ })

    const usage = await expectStatus("getUsage", 200, { query: { since: 0 } })
    expect(usage.totals.turns).toBeGreaterThan(0)
    await expectStatus("getUsage", 400, { query: { since: -1 } })

    const metrics = await expectStatus("getMetrics", 200, { token: READ })
    expect(metrics).toContain('drost_turns_total{outcome="completed"}')
    await expectStatus("getMetrics", 401, { token: null })
  }, 30_000)

  test("the event stream: a replay validates against the documented envelopes", async () => {
    const last = (await expectStatus("getStatus", 200)).lastEventId as number
    expect(last).toBeGreaterThan(0)
    const found = ops.get("streamEvents")!
    const controller = new AbortController()
    const stream = await call("streamEvents", { query: { since: 0 }, signal: controller.signal })
    const schema = found.op.responses["200"]!.content!["text/event-stream"]!.schema
    const validate = validator("streamEvents 200", schema)
    const types = new Set<string>()
    for await (const event of readSse(stream.body as Response)) {
      const valid = validate(event.data)
      expect([event.event, valid ? [] : validate.errors]).toEqual([event.event, []])
      types.add(event.event)
      if (Number(event.id) >= last) break
    }
    controller.abort()
    expect(types).toContain("session.created")
    expect(types).toContain("tool.call.completed")
    await expectStatus("streamEvents", 400, { query: { since: -5 } })
    await expectStatus("streamEvents", 401, { token: null })
  })

  test("providers, tools, approvals", async () => {
    const providers = await expectStatus("listProviders", 200)
    expect(providers.providers[0].id).toBe("demo")
    await expectStatus("listProviders", 401, { token: null })
    const probed = await expectStatus("probeProviders", 200, { body: { timeoutMs: 2000 } })
    expect(probed.providers.length).toBe(1)
    await expectStatus("probeProviders", 400, { body: { timeoutMs: 1 } })

    const tools = await expectStatus("listTools", 200)
    expect(tools.tools.map((tool: { name: string }) => tool.name)).toContain("file.list")
    await expectStatus("listTools", 401, { token: null })
    const listed = await expectStatus("executeTool", 200, { params: { name: "file.list" }, body: { path: "." } })
    expect(listed.output).toContain("notes.txt")
    await expectStatus("executeTool", 404, { params: { name: "no.such.tool" }, body: {} })

    // Agent Skills: one that loads and one that is rejected, with its reasons.
    await Bun.write(
      api.ws.file("skills/notes-digest/SKILL.md"),
      "---\nname: notes-digest\ndescription: Summarise notes.txt. Use when asked about the notes.\n---\nRead notes.txt.\n",
    )
    await Bun.write(api.ws.file("skills/Broken/SKILL.md"), "no front matter\n")
    const skills = await expectStatus("listSkills", 200, { query: { session: NONE } })
    expect(skills.skills.map((skill: { name: string }) => skill.name)).toEqual(["notes-digest"])
    expect(skills.rejected[0].reasons[0]).toContain("front matter")
    await expectStatus("listSkills", 401, { token: null })
    await expectStatus("executeTool", 400, { params: { name: "file.list" }, raw: "[1," })

    // file.read waits for a person (tools.approve): decide it over the API.
    const waiting = call("executeTool", { params: { name: "file.read" }, body: { path: "notes.txt" } })
    let pending: { id: string }[] = []
    while (pending.length === 0) {
      pending = (await expectStatus("listApprovals", 200)).approvals
      if (pending.length === 0) await Bun.sleep(20)
    }
    await expectStatus("decideApproval", 400, { params: { id: pending[0]!.id }, body: { decision: "maybe" } })
    await expectStatus("decideApproval", 403, {
      params: { id: pending[0]!.id },
      body: { decision: "approve" },
      token: READ,
    })
    const decided = await expectStatus("decideApproval", 200, {
      params: { id: pending[0]!.id },
      body: { decision: "approve" },
    })
    expect(decided.approved).toBe(true)
    expect(((await waiting).body as { output: string }).output).toContain("hello")
    await expectStatus("decideApproval", 404, { params: { id: pending[0]!.id }, body: { decision: "deny" } })
    await expectStatus("listApprovals", 401, { token: null })
  })

  test("background jobs", async () => {
    const session = await expectStatus("createSession", 201, { body: {} })
    const run = (args: Record<string, unknown>) =>
      api.gw.tools.run({
        name: "shell",
        args,
        context: {
          sessionId: session.id,
          turnId: "turn_contract",
          callId: `call_${crypto.randomUUID().slice(0, 8)}`,
          workspace: { root: api.ws.path, tools: "", memory: "", prompts: "" },
          signal: new AbortController().signal,
        },
      })
    const started = await run({ command: "echo contract output", background: true })
    const id = started.output.match(/job_\w+/)![0]
    let job = await expectStatus("getJob", 200, { params: { id } })
    while (job.status === "running") {
      await Bun.sleep(20)
      job = await expectStatus("getJob", 200, { params: { id } })
    }
    expect(job.status).toBe("completed")
    const listed = await expectStatus("listJobs", 200, { query: { session: session.id } })
    expect(listed.jobs.map((each: { id: string }) => each.id)).toEqual([id])
    await expectStatus("listJobs", 401, { token: null })
    await expectStatus("getJob", 404, { params: { id: "job_none" } })
    expect((await expectStatus("getJobOutput", 200, { params: { id } })).text).toBe("contract output\n")
    await expectStatus("getJobOutput", 404, { params: { id: "job_none" } })
    const child = await api.gw.jobs.spawn({ sessionId: session.id, task: "hello" })
    await expectStatus("getJobOutput", 400, { params: { id: child.id } })
    const sleeping = (await run({ command: "sleep 30", background: true })).output.match(/job_\w+/)![0]
    await expectStatus("cancelJob", 403, { params: { id: sleeping }, token: READ })
    expect((await expectStatus("cancelJob", 200, { params: { id: sleeping } })).status).toBe("cancelled")
    await expectStatus("cancelJob", 409, { params: { id: sleeping } })
    await expectStatus("cancelJob", 404, { params: { id: "job_none" } })
  })

  test("backup", async () => {
    const file = `${api.ws.path}-contract-backup.tar.gz`
    try {
      const made = await expectStatus("createBackup", 200, { body: { file } })
      expect([made.file, made.withSecrets, made.files > 0]).toEqual([file, false, true])
      // Never over an existing file; a relative path is refused (the gateway's working folder is no one's business).
      await expectStatus("createBackup", 400, { body: { file } })
      await expectStatus("createBackup", 400, { body: { file: "relative.tar.gz" } })
      await expectStatus("createBackup", 400, { body: { withSecrets: "yes" } })
      await expectStatus("createBackup", 403, { body: {}, token: READ })
    } finally {
      rmSync(file, { force: true })
    }
  })

  test("plugins", async () => {
    expect((await expectStatus("listPlugins", 200)).plugins).toEqual([])
    await expectStatus("listPlugins", 401, { token: null })
  })

  test("evolution", async () => {
    const state = await expectStatus("listEvolutions", 200, { query: { limit: 5 } })
    expect([state.enabled, state.problem]).toEqual([true, null])
    await expectStatus("listEvolutions", 400, { query: { limit: 0 } })
    const outcome = await expectStatus("runEvolution", 200, {
      body: { reason: "a friendlier prompt", changes: [{ path: "prompts/system.md", content: "You are kind.\n" }] },
    })
    expect([outcome.ok, outcome.status]).toEqual([true, "applied"])
    await expectStatus("runEvolution", 400, { body: { reason: "x", changes: [{ path: "prompts/a.md" }] } })
    await expectStatus("runEvolution", 400, { body: { reason: "", changes: [] } })
    expect((await expectStatus("getEvolution", 200, { params: { id: outcome.id } })).id).toBe(outcome.id)
    await expectStatus("getEvolution", 404, { params: { id: "evo_none" } })
    const diff = await expectStatus("getEvolutionDiff", 200, { params: { id: outcome.id } })
    expect(diff.files[0].patch).toContain("\n+")
    await expectStatus("getEvolutionDiff", 403, { params: { id: outcome.id }, token: READ })
    await expectStatus("getEvolutionDiff", 404, { params: { id: "evo_none" } })
    const reverted = await expectStatus("revertEvolution", 200, { params: { id: outcome.id } })
    expect(reverted.ok).toBe(true)
    await expectStatus("revertEvolution", 404, { params: { id: "evo_none" } })
  }, 30_000)

  test("chat commands", async () => {
    const reply = await expectStatus("runCommand", 200, { body: { line: "/status" } })
    expect(typeof reply.text).toBe("string")
    await expectStatus("runCommand", 400, { body: { line: "not a command" } })
    await expectStatus("runCommand", 400, { body: { line: "" } })
    await expectStatus("runCommand", 404, { body: { line: "/status", sessionId: NONE } })
  })

  test("telegram pairings", async () => {
    // What the channel does when a user who is not allowed writes to the bot.
    const issued = (await api.gw.data.telegram.pairingFor({ botId: "123", userId: 42, chatId: 42, name: "Ada" }))!
    const list = await expectStatus("listTelegramPairings", 200)
    expect(list.pairings.map((pairing: { code: string }) => pairing.code)).toContain(issued.pairing.code)
    await expectStatus("listTelegramPairings", 401, { token: null })
    const approved = await expectStatus("approveTelegramPairing", 200, { params: { code: issued.pairing.code } })
    expect(approved.approved.userId).toBe(42)
    await expectStatus("approveTelegramPairing", 404, { params: { code: issued.pairing.code } })
    await expectStatus("approveTelegramPairing", 400, { params: { code: "x" } })
  })

  test("every example in the document validates against its schema (what Swagger's Execute sends)", () => {
    const wrong: string[] = []
    let checked = 0
    const walk = (node: unknown, where: string) => {
      if (!node || typeof node !== "object") return
      if (Array.isArray(node)) {
        for (const [index, item] of node.entries()) walk(item, `${where}/${index}`)
        return
      }
      const object = node as Record<string, unknown>
      if (Array.isArray(object.examples) && (object.type || object.anyOf || object.properties || object.$ref)) {
        const { examples, ...schema } = object
        const validate = ajv.compile(rebased(schema) as object)
        for (const example of examples as unknown[]) {
          checked++
          if (!validate(example)) wrong.push(`${where}: ${ajv.errorsText(validate.errors)}`)
        }
      }
      if (object.example !== undefined && object.schema) {
        checked++
        const validate = ajv.compile(rebased(object.schema) as object)
        if (!validate(object.example)) wrong.push(`${where} (example): ${ajv.errorsText(validate.errors)}`)
      }
      for (const [key, value] of Object.entries(object))
        if (key !== "examples" && key !== "example") walk(value, `${where}/${key}`)
    }
    walk(doc.paths, "#/paths")
    walk(doc.components, "#/components")
    expect(wrong).toEqual([])
    expect(checked).toBeGreaterThan(50)
  })

  test("every operation of the document was exercised: its success case, and an error where it is guarded", () => {
    const missing: string[] = []
    for (const [id, { op }] of ops) {
      const statuses = [...(seen.get(id) ?? [])]
      if (!statuses.some((status) => status >= 200 && status < 300)) missing.push(`${id}: no 2xx`)
      const guarded = !(Array.isArray(op.security) && op.security.length === 0)
      if (guarded && !statuses.some((status) => status >= 400)) missing.push(`${id}: no error case`)
    }
    expect(missing).toEqual([])
  })
})

describe("Swagger UI's Execute with the documented examples (issue 15 item 16)", () => {
  test("the example body of POST /sessions creates a session on the default provider, not the demo one", async () => {
    await using other = await inProcess({
      providers: {
        defaultSessionProvider: "main",
        profiles: [
          { id: "demo", kind: "demo" },
          { id: "main", kind: "demo" },
        ],
      },
    })
    const spec = (await (await fetch(`${other.url}/control/v1/openapi.json`)).json()) as Doc
    for (const [path, method] of [
      ["/control/v1/sessions", "post"],
      ["/control/v1/sessions/{id}", "patch"],
    ] as const) {
      const examples = spec.paths[path]![method]!.requestBody!.content["application/json"]!.schema.examples!
      expect(examples.length).toBeGreaterThan(0)
      for (const example of examples)
        expect([path, example]).not.toEqual([path, expect.objectContaining({ provider: "demo" })])
    }
    const example =
      spec.paths["/control/v1/sessions"]!.post!.requestBody!.content["application/json"]!.schema.examples![0]
    const response = await other.fetch("/control/v1/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(example),
    })
    expect(response.status).toBe(201)
    expect(((await response.json()) as { provider: string }).provider).toBe("main")
  })
})
