import { describe, expect, test } from "bun:test"
import { connect } from "node:net"
import { defineEvent } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"
import { readSse, type SseEvent } from "../lib/sse.ts"
import { inProcess } from "./inprocess.ts"

const Tick = defineEvent("test.tick", Type.Object({ n: Type.Number(), sessionId: Type.String() }))
const Big = defineEvent("test.big", Type.Object({ n: Type.Number(), pad: Type.String() }))

/** Reads SSE records until `stop` says so; returns them. Steps the iterator by hand so the body is not closed early. */
async function collect(
  events: AsyncGenerator<SseEvent>,
  stop: (event: SseEvent, all: SseEvent[]) => boolean,
): Promise<SseEvent[]> {
  const all: SseEvent[] = []
  for (let next = await events.next(); !next.done; next = await events.next()) {
    all.push(next.value)
    if (stop(next.value, all)) break
  }
  return all
}

describe("GET /control/v1/events", () => {
  test("a client that disconnects after event 300 of 1,000 resumes with Last-Event-ID and gets 301…1000 exactly once", async () => {
    await using api = await inProcess()
    const before = api.gw.bus.subscribers()
    const first = new AbortController()
    const response = await api.fetch("/control/v1/events?type=test.tick", { signal: first.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    expect(api.gw.bus.subscribers()).toBe(before + 1)

    // Publish all 1,000 in bursts while the client reads; it leaves after the 300th.
    const publishing = (async () => {
      for (let n = 1; n <= 1000; n++) {
        api.gw.bus.publish(Tick, { n, sessionId: n % 2 ? "ses_odd" : "ses_even" })
        if (n % 50 === 0) await Bun.sleep(1)
      }
    })()
    const seen = await collect(readSse(response), (_, all) => all.length === 300)
    first.abort()
    await publishing
    expect(seen.map((event) => (event.data as { data: { n: number } }).data.n)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    )
    const lastId = seen.at(-1)!.id!
    // The server dropped the first subscription when the client went away.
    for (let tries = 0; api.gw.bus.subscribers() !== before && tries < 100; tries++) await Bun.sleep(10)
    expect(api.gw.bus.subscribers()).toBe(before)

    const second = new AbortController()
    const resumed = await api.fetch("/control/v1/events?type=test.tick", {
      headers: { "last-event-id": lastId },
      signal: second.signal,
    })
    const rest = await collect(readSse(resumed), (event) => (event.data as { data: { n: number } }).data.n === 1000)
    second.abort()
    const numbers = rest.map((event) => (event.data as { data: { n: number } }).data.n)
    expect(numbers).toEqual(Array.from({ length: 700 }, (_, i) => i + 301))
    expect(new Set(rest.map((event) => event.id)).size).toBe(700)
    expect(Number(rest[0]!.id)).toBe(Number(lastId) + 1)
  }, 30_000)

  test("filters by session and by type family; a keepalive comment arrives when the stream is quiet", async () => {
    await using api = await inProcess({}, { keepaliveMs: 100 })
    const response = await api.fetch("/control/v1/events?session=ses_even&type=test.*")
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ""
    const until = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${needle}`)
        text += value
      }
    }
    await until(": keepalive")
    for (let n = 1; n <= 6; n++) api.gw.bus.publish(Tick, { n, sessionId: n % 2 ? "ses_odd" : "ses_even" })
    api.gw.sessions.create({ title: "not a test.* event" })
    await until('"n":6')
    await reader.cancel()
    const ns = [...text.matchAll(/"n":(\d+)/g)].map((match) => Number(match[1]))
    expect(ns).toEqual([2, 4, 6])
    expect(text).not.toContain("session.created")
  }, 30_000)

  test("resuming from an id older than the buffer says so with an event: gap, then replays what is left", async () => {
    await using api = await inProcess()
    const start = api.gw.bus.lastId()
    for (let n = 1; n <= 5000; n++) api.gw.bus.publish(Tick, { n, sessionId: "ses_x" })
    const done = new AbortController()
    const response = await api.fetch("/control/v1/events?type=test.tick", {
      headers: { "last-event-id": String(start) },
      signal: done.signal,
    })
    const events = await collect(
      readSse(response),
      (event) => (event.data as { data?: { n: number } }).data?.n === 5000,
    )
    done.abort()
    expect(events[0]!.event).toBe("gap")
    const ticks = events.slice(1)
    expect(ticks.length).toBeGreaterThanOrEqual(1000)
    expect((ticks.at(-1)!.data as { data: { n: number } }).data.n).toBe(5000)
  }, 30_000)

  test("?since= works like Last-Event-ID, and a bad Last-Event-ID means live only", async () => {
    await using api = await inProcess()
    const mark = api.gw.bus.publish(Tick, { n: 1, sessionId: "s" }).id
    api.gw.bus.publish(Tick, { n: 2, sessionId: "s" })
    const done = new AbortController()
    const response = await api.fetch(`/control/v1/events?type=test.tick&since=${mark}`, { signal: done.signal })
    const [event] = await collect(readSse(response), () => true)
    done.abort()
    expect((event!.data as { data: { n: number } }).data.n).toBe(2)

    const liveDone = new AbortController()
    const live = await api.fetch("/control/v1/events?type=test.tick", {
      headers: { "last-event-id": "garbage" },
      signal: liveDone.signal,
    })
    const reading = collect(readSse(live), () => true)
    api.gw.bus.publish(Tick, { n: 3, sessionId: "s" })
    const [next] = await reading
    liveDone.abort()
    expect((next!.data as { data: { n: number } }).data.n).toBe(3)
  }, 30_000)

  test("a client that stops reading is cut off with event: overflow once its backlog passes maxBacklog; its subscription is freed", async () => {
    await using api = await inProcess({}, { maxBacklog: 20 })
    const before = api.gw.bus.subscribers()
    const { hostname, port } = new URL(api.url)
    let received = ""
    const socket = connect(Number(port), hostname)
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      received += chunk
    })
    socket.write(
      `GET /control/v1/events?type=test.big HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${api.token}\r\n\r\n`,
    )
    while (api.gw.bus.subscribers() === before) await Bun.sleep(5)
    socket.pause()
    // 64 KB events until the kernel's buffers are full and the backlog passes 20 frames.
    const pad = "x".repeat(64_000)
    let published = 0
    while (api.gw.bus.subscribers() > before && published < 5_000) {
      api.gw.bus.publish(Big, { n: ++published, pad })
      if (published % 10 === 0) await Bun.sleep(1)
    }
    expect(api.gw.bus.subscribers()).toBe(before)
    expect(published).toBeLessThan(5_000)
    socket.resume()
    const deadline = Date.now() + 10_000
    while (!received.includes("event: overflow") && Date.now() < deadline) await Bun.sleep(10)
    expect(received).toContain("event: overflow")
    expect(received).toContain("client too slow; reconnect with Last-Event-ID")
    socket.destroy()
  })
})
