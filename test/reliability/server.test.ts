/**
 * The Control API's front door against requests a normal client would never send (issue 14, items 1,
 * 7 and 10), over raw sockets so the bytes are exactly these: an empty, missing or malformed `Host`,
 * HTTP/1.0 without one, a foreign name (DNS rebinding), JSON nested 100,000 levels, a 300 MiB chunked
 * upload without a token. Every answer is the API's JSON error, never Bun's HTML error page; refusals
 * at the headers do not read the body; and a channel that is down makes the gateway unready, not dead.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { connect } from "node:net"
import { waitEvent } from "../channels/helpers.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

interface Answer {
  status: number
  head: string
  body: string
}

/** Send `bytes` as they are and read the answer until the server closes (or `Connection: close`). */
function exchange(port: number, bytes: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes))
    let raw = ""
    socket.setEncoding("latin1")
    socket.on("data", (data) => {
      raw += data
    })
    socket.on("error", reject)
    socket.on("close", () => {
      const split = raw.indexOf("\r\n\r\n")
      const head = split < 0 ? raw : raw.slice(0, split)
      resolve({ status: Number(head.split(" ")[1]), head, body: split < 0 ? "" : raw.slice(split + 4) })
    })
  })
}

const get = (path: string, headers: string[], version = "HTTP/1.1") =>
  `GET ${path} ${version}\r\n${[...headers, "Connection: close"].map((line) => `${line}\r\n`).join("")}\r\n`

/** The answer is the API's JSON error (or data), never an HTML page. */
function expectJson(answer: Answer, status: number, error?: string): Record<string, unknown> {
  expect([answer.status, answer.body.slice(0, 80)]).toEqual([status, expect.not.stringContaining("<") as never])
  expect(answer.head.toLowerCase()).toContain("content-type: application/json")
  const body = JSON.parse(answer.body) as Record<string, unknown>
  if (error) expect([body.error, typeof body.message]).toEqual([error, "string"])
  return body
}

interface Upload {
  /** Bytes written when the first byte of the answer arrived. */
  answeredAt: number
  /** Bytes written before the server closed the connection (or all of them). */
  written: number
  answer: string
}

/** Stream a chunked body of `total` bytes in 1 MiB chunks, as fast as the server takes them. */
async function upload(port: number, head: string, total: number): Promise<Upload> {
  const socket = connect(port, "127.0.0.1")
  await new Promise((resolve) => socket.once("connect", resolve))
  let answer = ""
  let answeredAt = -1
  let written = 0
  let closed = false
  socket.setMaxListeners(0)
  socket.on("data", (data) => {
    if (answeredAt < 0) answeredAt = written
    answer += data.toString("latin1")
  })
  const ended = new Promise<void>((resolve) => {
    socket.on("close", () => {
      closed = true
      resolve()
    })
  })
  socket.on("error", () => {})
  socket.write(head)
  const piece = Buffer.alloc(1024 * 1024, 0x20)
  const frame = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")])
  while (written < total && !closed) {
    const flowing = socket.write(frame)
    written += piece.length
    if (!flowing) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), ended])
  }
  if (!closed) socket.end("0\r\n\r\n")
  await ended
  return { answeredAt, written, answer }
}

const MiB = 1024 * 1024

describe("the Control API's front door", () => {
  let ws: Workspace
  let gw: RunningGateway
  let port: number

  beforeAll(async () => {
    ws = await workspace({
      config: demoConfig({ controlApi: { port: 0, allowedHosts: ["drost.lan", "[fd00::7]"], maxBodyBytes: MiB } }),
    })
    gw = await spawnGateway(ws.path)
    port = Number(new URL(gw.url).port)
  })
  afterAll(async () => {
    await gw?.stop()
    await ws?.[Symbol.asyncDispose]()
  })

  test("an empty, missing or malformed Host gets a JSON 400 on every route, never Bun's HTML error page", async () => {
    const auth = `Authorization: Bearer ${gw.token}`
    for (const path of ["/healthz", "/control/v1/status", "/control/v1/docs", "/nowhere"])
      for (const host of ["Host:", "Host: ", "Host: a b", "Host: [::1", "Host: x:99999", "Host: a/b", "Host: :80"]) {
        const answer = await exchange(port, get(path, [host, auth]))
        expectJson(answer, 400, "InvalidHost")
      }
    // HTTP/1.1 without Host never reaches the API: Bun's parser answers 400 itself (RFC 9112 §3.2), without a body.
    const missing = await exchange(port, get("/healthz", []))
    expect([missing.status, missing.body]).toEqual([400, ""])
  })

  test("HTTP/1.0 without Host is served as loopback: health checkers work, the guard still applies", async () => {
    expect(expectJson(await exchange(port, get("/healthz", [], "HTTP/1.0")), 200)).toEqual({
      state: "running",
      reasons: [],
    })
    expectJson(await exchange(port, get("/control/v1/status", [], "HTTP/1.0")), 401, "Unauthorized")
    const status = expectJson(
      await exchange(port, get("/control/v1/status?x=1", [`Authorization: Bearer ${gw.token}`], "HTTP/1.0")),
      200,
    ) as { state: string }
    expect(status.state).toBe("running")
    const body = '{"title":"from an old client"}'
    const created = expectJson(
      await exchange(
        port,
        `POST /control/v1/sessions HTTP/1.0\r\nAuthorization: Bearer ${gw.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
      201,
    ) as { title: string }
    expect(created.title).toBe("from an old client")
  })

  test("a foreign Host (DNS rebinding) gets 421 with a JSON error; loopback names and controlApi.allowedHosts are served", async () => {
    for (const path of ["/healthz", "/control/v1/status", "/control/v1/docs"]) {
      const body = expectJson(await exchange(port, get(path, ["Host: evil.example"])), 421, "MisdirectedRequest")
      expect(body.message).toContain("controlApi.allowedHosts")
    }
    expectJson(await exchange(port, get("/healthz", [`Host: evil.example:${port}`])), 421, "MisdirectedRequest")
    expectJson(await exchange(port, get("/healthz", ["Host: drost.lan.evil.example"])), 421, "MisdirectedRequest")
    for (const host of ["127.0.0.1", `127.0.0.1:${port}`, "localhost", "LOCALHOST:1", "[::1]", `[::1]:${port}`])
      expectJson(await exchange(port, get("/healthz", [`Host: ${host}`])), 200)
    for (const host of ["drost.lan", `Drost.LAN:${port}`, "[fd00::7]:7420"])
      expectJson(await exchange(port, get("/healthz", [`Host: ${host}`])), 200)
  })

  test("JSON nested 100,000 levels is refused with 400 before it is parsed; the gateway stays healthy", async () => {
    const levels = 100_000
    const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
    const deep = [
      ["/sessions", `{"metadata":${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}`],
      ["/sessions", `{"metadata":{"a":${"[".repeat(levels)}${"]".repeat(levels)}}}`],
      [`/sessions/${session}/turn`, `{"input":"hi","x":${"[".repeat(levels)}${"]".repeat(levels)}}`],
    ]
    for (const [path, body] of deep) {
      const response = await gw.api(path!, { method: "POST", headers: { "content-type": "application/json" }, body })
      const error = (await response.json()) as { error: string; message: string }
      expect([response.status, error.error, error.message]).toEqual([400, "Invalid", expect.stringContaining("deeper")])
    }
    // Ordinary nesting still works, and so does everything else.
    const nested = `{"metadata":{"a":${"[".repeat(100)}1${"]".repeat(100)}}}`
    const ok = await gw.api("/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: nested,
    })
    expect(ok.status).toBe(201)
    expect((await gw.api("/healthz")).status).toBe(200)
    const turn = await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input: "still there?" } })
    expect(((await turn.json()) as { status: string }).status).toBe("completed")
  })

  test("an unauthenticated chunked upload of 300 MiB is answered 401 at its headers and not read on", async () => {
    const head = `POST /control/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
    const sent = await upload(port, head, 300 * MiB)
    console.info(
      `unauthenticated 300 MiB upload: answered after ${(sent.answeredAt / MiB).toFixed(0)} MiB written, connection closed after ${(sent.written / MiB).toFixed(0)} MiB`,
    )
    expect(sent.answer).toStartWith("HTTP/1.1 401")
    expect(sent.answer).toContain('"error":"Unauthorized"')
    // What was written is at most what sits in the two sockets' buffers: the server stopped reading.
    expect(sent.answeredAt).toBeGreaterThanOrEqual(0)
    expect(sent.written).toBeLessThan(64 * MiB)
  })

  test("an authenticated chunked body over controlApi.maxBodyBytes is cut off with a JSON 413 as it streams", async () => {
    const head = `POST /control/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
    const sent = await upload(port, head, 300 * MiB)
    expect(sent.answer).toStartWith("HTTP/1.1 413")
    expect(sent.answer).toContain('"error":"TooLarge"')
    expect(sent.written).toBeLessThan(64 * MiB)
    expect((await gw.api("/healthz")).status).toBe(200)
  })
})

describe("liveness and readiness", () => {
  test("with only a channel down, /healthz and /readyz answer 503 with the reason while /livez answers 200; all public and documented", async () => {
    const fake = await FakeTelegram.start()
    await using ws = await workspace({
      config: demoConfig({
        channels: [{ kind: "telegram", token: "9999:not-a-valid-token", apiRoot: fake.apiRoot, allowedUsers: [1] }],
      }),
    })
    await using gw = await spawnGateway(ws.path)
    try {
      await waitEvent(ws, "gateway.state", (data) => (data.reasons as string[]).some((r) => r.startsWith("telegram")))
      const health = await fetch(`${gw.url}/healthz`)
      const unhealthy = (await health.json()) as { state: string; reasons: string[] }
      expect([health.status, unhealthy.state]).toEqual([503, "degraded"])
      expect(unhealthy.reasons.join()).toContain("telegram")
      const ready = await fetch(`${gw.url}/readyz`)
      expect([ready.status, await ready.json()]).toEqual([503, unhealthy])
      const live = await fetch(`${gw.url}/livez`)
      const alive = (await live.json()) as { live: boolean; state: string }
      expect([live.status, alive.live, alive.state]).toEqual([200, true, "degraded"])
      const doc = (await (await fetch(`${gw.url}/control/v1/openapi.json`)).json()) as {
        paths: Record<string, { get?: { security?: unknown[]; responses: Record<string, unknown> } }>
      }
      expect(doc.paths["/livez"]?.get?.security).toEqual([])
      expect(doc.paths["/readyz"]?.get?.security).toEqual([])
      expect(Object.keys(doc.paths["/readyz"]!.get!.responses)).toEqual(expect.arrayContaining(["200", "503"]))
    } finally {
      fake.stop()
    }
  }, 30_000)
})
