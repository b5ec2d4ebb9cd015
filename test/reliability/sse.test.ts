/**
 * SSE clients that never read (issue 14, item 2): each is cut off with `event: overflow` once the bytes
 * queued for it pass its bound, the total bound cuts the slowest first, and a client that reads keeps
 * receiving every event in order. Raw sockets that stop reading after the response head, against a
 * real server in this process (so the test can publish on the bus directly).
 */
import { describe, expect, test } from "bun:test"
import { fanoutStats } from "../../src/api/events.ts"
import { defineEvent } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"
import { inProcess, type InProcess } from "../api/inprocess.ts"
import { readSse } from "../lib/sse.ts"
import { dechunk, drainSubscriber as drain, readingSubscriber, stalledSubscriber } from "../lib/sse-socket.ts"

const Big = defineEvent("test.sse.big", Type.Object({ n: Type.Number(), sessionId: Type.String(), pad: Type.String() }))
const pad = "x".repeat(8_000)

/** Subscribes to the test's events, reads the response head, then stops reading. */
const stalled = (api: InProcess, query = "") =>
  stalledSubscriber(api.url, api.token, `/control/v1/events?type=test.sse.big${query}`)

/** Publishes 8 KB events, yielding to the loop every 10, until `done` or `limit` events. */
async function publishUntil(
  api: InProcess,
  done: () => boolean,
  limit: number,
  session: (n: number) => string = () => "ses_a",
): Promise<number> {
  let n = 0
  while (!done() && n < limit) {
    n++
    api.gw.bus.publish(Big, { n, sessionId: session(n), pad })
    if (n % 10 === 0) await Bun.sleep(1)
  }
  return n
}

describe("SSE subscribers that do not read", () => {
  test("each is cut off with event: overflow after its byte bound; a reader gets every event in order", async () => {
    await using api = await inProcess({}, { maxBacklogBytes: 64 * 1024, maxTotalBacklogBytes: 64 * 1024 * 1024 })
    const base = api.gw.bus.subscribers()
    const readerDone = new AbortController()
    const response = await api.fetch("/control/v1/events?type=test.sse.big", { signal: readerDone.signal })
    const stream = readSse(response)
    const seen: number[] = []
    const reading = (async () => {
      for await (const event of stream) {
        if (event.event === "overflow") throw new Error("the reader was cut off")
        seen.push((event.data as { data: { n: number } }).data.n)
      }
    })().catch((error) => {
      if (!readerDone.signal.aborted) throw error
    })
    const stalls = await Promise.all(Array.from({ length: 4 }, () => stalled(api)))
    expect(api.gw.bus.subscribers()).toBe(base + 5)

    // 3,000 × 8 KB = 24 MB each: far past the kernel's socket buffers, and far under the old cut-off of
    // 10,000 queued writes, which let such a client hold all of it in the gateway.
    const published = await publishUntil(api, () => api.gw.bus.subscribers() === base + 1, 3_000)
    expect(api.gw.bus.subscribers()).toBe(base + 1)
    for (const entry of stalls) {
      const text = await drain(entry)
      const frames = text.split("\n\n").filter((frame) => frame.includes("event: "))
      expect(frames.at(-1)).toContain("event: overflow")
      expect(frames.at(-1)).toContain("client too slow; reconnect with Last-Event-ID")
    }
    // The reader is unaffected: everything, in order.
    while (seen.length < published) await Bun.sleep(5)
    readerDone.abort()
    await reading
    expect(seen).toEqual(Array.from({ length: published }, (_, i) => i + 1))
  }, 60_000)

  test("over the total bound, the slowest subscriber is cut off first", async () => {
    await using api = await inProcess({}, { maxBacklogBytes: 512 * 1024 * 1024, maxTotalBacklogBytes: 256 * 1024 })
    const base = api.gw.bus.subscribers()
    // Both stop reading; the first is sent every event, the second one in ten (its session's).
    const slow = await stalled(api)
    const later = await stalled(api, "&session=ses_b")
    expect(api.gw.bus.subscribers()).toBe(base + 2)
    await publishUntil(
      api,
      () => api.gw.bus.subscribers() < base + 2,
      5_000,
      (n) => (n % 10 ? "ses_a" : "ses_b"),
    )
    expect(api.gw.bus.subscribers()).toBe(base + 1)
    expect(later.closed).toBe(false)
    const text = await drain(slow)
    expect(text).toContain("event: overflow")
    later.socket.destroy()
  }, 60_000)

  test("a filtered subscriber that stops reading does not hold every other event in the gateway, and later gets exactly its own, in order", async () => {
    // Its own bound is far away; the total bound (2 MiB) is what the shared log may hold for it.
    await using api = await inProcess({}, { maxBacklogBytes: 512 * 1024 * 1024, maxTotalBacklogBytes: 2 * 1024 * 1024 })
    const base = api.gw.bus.subscribers()
    // A reader of everything, so every event goes into the shared log.
    const reader = await readingSubscriber(api.url, api.token, "/control/v1/events?type=test.sse.big")
    const filtered = await stalled(api, "&session=ses_b")
    expect(api.gw.bus.subscribers()).toBe(base + 2)
    // One event in 20 is its own: it backs up once the kernel's buffers hold a few MB of them, and from
    // then on the log would hold 20 times its backlog if nothing copied its part out.
    let peakLogged = 0
    let sinceBackedUp = -1
    const published = await publishUntil(
      api,
      () => {
        const stats = fanoutStats(api.gw)
        peakLogged = Math.max(peakLogged, stats.logged)
        if (sinceBackedUp >= 0) sinceBackedUp++
        else if (stats.waiting) sinceBackedUp = 0
        // 2,000 events (16 MB) after it backed up: the log has had to let go of what it had not sent.
        return sinceBackedUp > 2_000
      },
      40_000,
      (n) => (n % 20 ? "ses_a" : "ses_b"),
    )
    expect(sinceBackedUp).toBeGreaterThan(2_000)
    expect(api.gw.bus.subscribers()).toBe(base + 2)
    // 8 KB events: the log never held much more than the 2 MiB total bound (256 of them).
    expect(peakLogged).toBeLessThan(600)
    // Read until its last event arrives (the stream stays open: it was never cut off).
    const last = Math.floor(published / 20) * 20
    filtered.socket.resume()
    while (!filtered.closed && !dechunk(filtered.received).includes(`"n":${last},`)) await Bun.sleep(10)
    filtered.socket.destroy()
    const text = dechunk(filtered.received)
    expect(text).not.toContain("event: overflow")
    const ns = [...text.matchAll(/"n":(\d+)/g)].map((match) => Number(match[1]))
    expect(ns).toEqual(Array.from({ length: last / 20 }, (_, i) => (i + 1) * 20))
    // The reader got everything.
    while (reader.ids.length < published && !reader.closed) await Bun.sleep(10)
    reader.close()
    expect(reader.overflowed).toBe(false)
    expect(reader.ids.length).toBe(published)
  }, 60_000)
})
