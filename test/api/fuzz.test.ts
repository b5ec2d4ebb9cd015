/**
 * Fuzz: well over 1,000 malformed requests (random bodies, wrong types, huge and deeply nested bodies,
 * odd paths, methods and headers) against a real gateway. Not one may answer 5xx, and the gateway must
 * stay healthy and able to run a turn afterwards. Seeded, so a failure can be replayed.
 */
import { expect, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

function rng(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SEED = Number(process.env.DROST_FUZZ_SEED ?? 20261125)
const COUNT = 1200

test(`fuzz: ${COUNT} malformed requests, no 5xx, gateway stays healthy (seed ${SEED})`, async () => {
  await using ws = await workspace({
    config: demoConfig({
      controlApi: { port: 0, openaiCompatible: true, maxBodyBytes: 65_536, mutationsPerMinute: 1_000_000 },
    }),
  })
  await using gw = await spawnGateway(ws.path)
  const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  const random = rng(SEED)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const int = (max: number) => Math.floor(random() * max)
  const junk = (length: number) => Array.from({ length }, () => String.fromCharCode(int(0x2fff))).join("")

  const values = (): unknown =>
    pick([
      null,
      true,
      0,
      -1,
      1e308,
      "",
      "x",
      junk(20),
      [],
      [1, "a"],
      {},
      { a: { b: [null] } },
      "9".repeat(400),
      -0.5,
      Number.MAX_SAFE_INTEGER,
    ])
  const fields = [
    "input",
    "images",
    "title",
    "provider",
    "metadata",
    "dryRun",
    "timeoutMs",
    "model",
    "messages",
    "stream",
    "user",
    "__proto__",
    "constructor",
    "limit",
  ]
  const object = (): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: int(5) }, () => [pick(fields), values()]))
  const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
  const bodies: (() => string | Uint8Array | undefined)[] = [
    () => undefined,
    () => "",
    () => "{",
    () => "null",
    () => "[]",
    () => '"just a string"',
    () => JSON.stringify(object()),
    () => JSON.stringify(values()),
    () => JSON.stringify({ input: values(), images: [{ mediaType: values(), data: values() }] }),
    () => JSON.stringify({ model: values(), messages: values(), stream: values() }),
    () => JSON.stringify({ model: "drost", messages: [{ role: values(), content: values() }] }),
    () => JSON.stringify({ title: values(), provider: values() }),
    () => nested(5_000),
    () => `{"a":"${"x".repeat(70_000)}"}`,
    () => crypto.getRandomValues(new Uint8Array(int(4096))),
    () => junk(int(2000)),
    () => "\u0000\u0001\ufffe{}",
  ]
  const paths = [
    "/control/v1/sessions",
    `/control/v1/sessions/${id}`,
    `/control/v1/sessions/${id}/turn`,
    `/control/v1/sessions/${id}/abort`,
    "/control/v1/sessions/ses_nope/turn",
    `/control/v1/sessions/${encodeURIComponent(junk(10))}`,
    "/control/v1/sessions?limit=-1&offset=x",
    `/control/v1/sessions?limit=${"9".repeat(40)}`,
    "/control/v1/sessions?q=%00%ff&channel[]=x",
    `/control/v1/sessions/${id}?before=NaN&limit=0`,
    "/control/v1/status",
    "/control/v1/usage?since=-5",
    "/control/v1/providers",
    "/control/v1/providers/probe",
    "/control/v1/tools",
    "/control/v1/tools/nope/execute",
    "/control/v1/tools/file.list/execute",
    "/control/v1/tools/%2e%2e%2f/execute",
    "/control/v1/events?since=abc",
    "/control/v1/../../etc/passwd",
    "/control/v1//sessions//",
    "/control/v1/%ZZ",
    `/control/v1/${"a/".repeat(2_000)}`,
    "/v1/chat/completions",
    "/v1/models",
    "/v1/completions",
    "/healthz?x=1",
    "/",
    "/favicon.ico",
    `/${junk(5)}`,
  ]
  const methods = [
    "GET",
    "GET",
    "POST",
    "POST",
    "POST",
    "POST",
    "PATCH",
    "PATCH",
    "PUT",
    "DELETE",
    "OPTIONS",
    "HEAD",
    "PROPFIND",
    "BREW",
  ]
  const types = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=zz",
    "application/octet-stream",
    "application/json; charset=utf-16",
    "",
    "image/png",
  ]

  type Sent = { method: string; path: string; status: number; body?: string }
  const failures: Sent[] = []
  const statuses = new Map<number, number>()
  let sent = 0
  const one = async () => {
    const method = pick(methods)
    // Keep the shared session alive so its routes keep exercising validation rather than 404.
    const path = method === "DELETE" ? pick(paths).replace(id, "ses_gone") : pick(paths)
    // Bun's fetch sends a body only with these methods (an unknown method is treated like GET).
    const body = ["POST", "PUT", "PATCH", "DELETE"].includes(method) ? pick(bodies)() : undefined
    const headers: Record<string, string> = {}
    const type = pick(types)
    if (type) headers["content-type"] = type
    const auth = random()
    headers.authorization =
      auth < 0.85
        ? `Bearer ${gw.token}`
        : auth < 0.9
          ? "Bearer "
          : auth < 0.95
            ? `Basic ${btoa("a:b")}`
            : `Bearer ${Array.from({ length: 30 }, () => String.fromCharCode(33 + int(94))).join("")}`
    if (random() < 0.1) headers["last-event-id"] = pick(["-1", "abc", "1e400", ""])
    if (random() < 0.1) headers.accept = "text/event-stream"
    const controller = new AbortController()
    try {
      const response = await fetch(`${gw.url}${path}`, {
        method,
        headers,
        body,
        signal: controller.signal,
        redirect: "manual",
      })
      // Streams (events, a turn as SSE) stay open: the status is all we need.
      controller.abort()
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      if (response.status >= 500)
        failures.push({ method, path: path.slice(0, 80), status: response.status, body: String(body).slice(0, 80) })
    } catch (error) {
      // An oversized body may be refused before it is fully sent; that is a 413 the client never read.
      if (!(error instanceof Error && /ECONNRESET|aborted|socket/i.test(error.message))) throw error
    }
    sent++
  }
  for (let batch = 0; batch < COUNT / 20; batch++) await Promise.all(Array.from({ length: 20 }, one))

  expect(sent).toBe(COUNT)
  expect(failures).toEqual([])
  expect([...statuses.keys()].every((status) => status < 500)).toBe(true)
  expect((await gw.api("/healthz")).status).toBe(200)
  // (A fuzzed DELETE may have removed the first session: that is allowed.)
  const fresh = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  const turn = await gw.api(`/sessions/${fresh.id}/turn`, { method: "POST", json: { input: "still alive?" } })
  expect(turn.status).toBe(200)
  expect(((await turn.json()) as { status: string }).status).toBe("completed")
  console.info(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`)
}, 60_000)
