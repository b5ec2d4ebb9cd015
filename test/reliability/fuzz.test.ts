/**
 * Fuzz at scale: `DROST_FUZZ_REQUESTS` (default 10,000) requests generated from the gateway's own
 * OpenAPI document (`/control/v1/openapi.json`: every operation, valid values bent one way at a time,
 * see openapi-fuzz.ts) plus raw garbage (random bytes, unbalanced JSON, oversized bodies, odd methods,
 * paths, tokens and content types), 16 at a time. Not one answer may be 5xx, the gateway must not
 * crash (the one exception: POST /evolution answers 503 by design while evolution is disabled, as it is
 * here so a valid change request cannot start real self-modification), its memory must stay flat (RSS at the end within 25 % of the RSS after the first 2,000,
 * measured once the gateway's bounded buffers are full: see the warm-up below), and
 * it must still run a turn. Seeded (`DROST_FUZZ_SEED`), so a failure can be replayed.
 */
import { expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { rng, seedFrom } from "./chaos.ts"
import { bend, type FuzzRequest, garbage, operations, queryValue, valid } from "./openapi-fuzz.ts"

const SEED = seedFrom("DROST_FUZZ_SEED", 20261125)
const COUNT = Number(process.env.DROST_FUZZ_REQUESTS ?? 10_000)
const READ_TOKEN = "fuzz-read-token-0123456789abcdef"

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024

test(`fuzz: ${COUNT} requests from the OpenAPI document plus garbage: 0 5xx, no crash, memory flat (seed ${SEED})`, async () => {
  await using ws = await workspace({
    config: demoConfig({
      controlApi: {
        port: 0,
        openaiCompatible: true,
        readToken: READ_TOKEN,
        maxBodyBytes: 65_536,
        mutationsPerMinute: 100_000_000,
      },
      // A valid change request must not start real self-modification (git checkpoints, gate commands).
      evolution: { enabled: false },
    }),
    files: { "notes.txt": "alpha\n" },
  })
  await using gw = await spawnGateway(ws.path)
  const document = (await (await fetch(`${gw.url}/control/v1/openapi.json`)).json()) as Parameters<typeof operations>[0]
  const ops = operations(document)
  expect(ops.length).toBeGreaterThan(15)
  const random = rng(SEED)
  const live: string[] = []
  for (let i = 0; i < 3; i++)
    live.push(((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id)

  const pathValue = (name: string): string => {
    if (name === "id")
      return random.pick([
        ...live,
        "ses_nope",
        "ses_",
        "..%2F..%2Fetc",
        "%00",
        encodeURIComponent("ä".repeat(40)),
        "x".repeat(600),
      ])
    if (name === "name")
      return random.pick(["file.read", "file.list", "memory.search", "nope", "%2e%2e%2f", "shell%00"])
    return random.pick(["ABCD1234", "nope", "%ff", "1".repeat(200)])
  }
  const auth = () => {
    const roll = random.next()
    if (roll < 0.8) return `Bearer ${gw.token}`
    if (roll < 0.86) return `Bearer ${READ_TOKEN}`
    if (roll < 0.9) return ""
    if (roll < 0.95) return `Basic ${btoa("a:b")}`
    return `Bearer ${Array.from({ length: 30 }, () => String.fromCharCode(33 + random.int(94))).join("")}`
  }

  function fromDocument(): FuzzRequest {
    const op = random.pick(ops)
    let path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => pathValue(name))
    // The one session deleted is one of the throwaways, so the others keep exercising validation.
    if (op.method === "DELETE" && live.some((id) => path.includes(id))) path = path.replace(/ses_\w+/, "ses_gone")
    const query = op.params
      .filter((param) => param.in === "query" && random.next() < 0.6)
      .map((param) => `${param.name}=${queryValue(param.schema, random)}`)
    if (random.next() < 0.1) query.push(`unknown=${random.int(9)}`)
    const headers: Record<string, string> = { authorization: auth() }
    if (op.params.some((param) => param.in === "header") && random.next() < 0.5)
      headers["last-event-id"] = random.pick(["-1", "abc", "1e400", "", "7"])
    if (random.next() < 0.1) headers.accept = "text/event-stream"
    let body: string | Uint8Array | undefined
    if (op.body) {
      let value = random.next() < 0.25 ? valid(op.body, random) : bend(op.body, random)
      // A real in-place restart would end the run: restart bodies always ask for a dry run (or are not objects).
      if (op.path.endsWith("/runtime/restart"))
        value =
          value && typeof value === "object" && !Array.isArray(value) ? { ...value, dryRun: true } : "not an object"
      const restart = op.path.endsWith("/runtime/restart")
      body = random.next() < 0.05 && !restart ? garbage(random) : JSON.stringify(value)
      // (A form-encoded restart body parses to an object without dryRun: a real restart; so restart stays JSON.)
      headers["content-type"] =
        random.next() < 0.9 || restart
          ? "application/json"
          : random.pick([
              "text/plain",
              "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=zz",
              "application/json; charset=utf-16",
              "",
            ])
    }
    return {
      method: op.method,
      path: `${path}${query.length ? `?${query.join("&")}` : ""}`,
      headers,
      body,
      operation: `${op.method} ${op.path}`,
    }
  }

  function raw(): FuzzRequest {
    const method = random.pick(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND", "TRACE"])
    const path = random.pick([
      "/control/v1/sessions",
      "/control/v1//sessions//",
      "/control/v1/%ZZ",
      `/control/v1/${"a/".repeat(1_500)}`,
      "/control/v1/../../etc/passwd",
      "/v1/chat/completions",
      "/v1/models",
      "/v1/completions",
      "/",
      `/${encodeURIComponent(String.fromCharCode(random.int(0xd7ff)))}`,
    ])
    const sendsBody = ["POST", "PUT", "PATCH", "DELETE"].includes(method)
    return {
      method,
      path,
      headers: {
        authorization: auth(),
        "content-type": random.pick(["application/json", "text/plain", "application/octet-stream"]),
      },
      body: sendsBody ? garbage(random) : undefined,
      operation: "raw",
    }
  }

  const failures: { status: number; operation: string; path: string; body: string }[] = []
  const statuses = new Map<number, number>()
  let sent = 0
  let warmRss = 0
  const one = async () => {
    const request = random.next() < 0.85 ? fromDocument() : raw()
    const controller = new AbortController()
    try {
      const response = await fetch(`${gw.url}${request.path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
        redirect: "manual",
      })
      // Streams (events, a turn as SSE) stay open: the status is all that is checked.
      controller.abort()
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      // The one 5xx by design (docs/control-api.md, src/api/evolution.ts): evolution is disabled here → 503.
      const disabled = response.status === 503 && request.operation === "POST /control/v1/evolution"
      if (response.status >= 500 && !disabled)
        failures.push({
          status: response.status,
          operation: request.operation,
          path: request.path.slice(0, 100),
          body: String(request.body).slice(0, 100),
        })
    } catch (error) {
      // An oversized body may be refused (413) before it is fully sent; the client then sees a reset.
      if (!(error instanceof Error && /ECONNRESET|aborted|socket|closed/i.test(error.message)))
        throw new Error(
          `${request.operation} ${request.method} ${request.path.slice(0, 120)}: ${error}\n--- gateway output (tail) ---\n${gw.output().slice(-3000)}`,
        )
    }
    sent++
  }
  // Warm-up: fill what is bounded by design before memory is measured, so "flat" means no leak rather than
  // buffers still filling: the bus keeps the last 4,096 events for Last-Event-ID replay, and sessions'
  // histories are cached. 600 turns publish about 5,000 events.
  const warmSessions = await Promise.all(
    Array.from(
      { length: 4 },
      async () => ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id,
    ),
  )
  for (let i = 0; i < 600; i++)
    await gw.api(`/sessions/${warmSessions[i % 4]}/turn`, {
      method: "POST",
      json: { input: `warm-up ${i}: list files` },
    })
  const started = performance.now()
  while (sent < COUNT) {
    await Promise.all(Array.from({ length: Math.min(16, COUNT - sent) }, one))
    if (sent === 2_000 || (warmRss === 0 && sent > 2_000)) warmRss = rssMb(gw.pid)
  }
  const endRss = rssMb(gw.pid)

  expect(sent).toBe(COUNT)
  const byOperation = new Map<string, { count: number; example: (typeof failures)[number] }>()
  for (const failure of failures) {
    const key = `${failure.status} ${failure.operation}`
    byOperation.set(key, {
      count: (byOperation.get(key)?.count ?? 0) + 1,
      example: byOperation.get(key)?.example ?? failure,
    })
  }
  expect(
    [...byOperation].map(([key, { count, example }]) => `${key} ×${count}: ${example.path} ${example.body}`),
  ).toEqual([])
  expect(gw.proc.exitCode).toBeNull()
  expect((await gw.api("/healthz")).status).toBe(200)
  expect(endRss).toBeLessThan(warmRss * 1.25)
  const fresh = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  const turn = (await (
    await gw.api(`/sessions/${fresh.id}/turn`, { method: "POST", json: { input: "still alive?" } })
  ).json()) as { status: string }
  expect(turn.status).toBe("completed")
  console.info(
    `fuzz: ${sent} requests over ${ops.length} operations in ${Math.round((performance.now() - started) / 1000)} s, RSS ${warmRss.toFixed(1)} → ${endRss.toFixed(1)} MB, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
  )
}, 300_000)
