/**
 * The SSE fan-out's shared log (src/api/outbox.ts, issue 14 item 2): a live event is serialised once and
 * kept once for every subscriber, each subscriber being a cursor into that log; the log keeps only what
 * some cursor still needs; a filtered subscriber that lags has its part copied out so the log stays
 * under the total bound; a backed-up subscriber past its byte bound is cut with its resume point.
 * The sinks stand in for Bun's direct-stream controller: `write` answers a number, or a promise while
 * the "socket" is backed up, exactly as Bun's does.
 */
import { expect, test } from "bun:test"
import { createOutbox, type Sink } from "../../src/api/outbox.ts"
import type { Envelope } from "../../src/core/event.ts"

const encoder = new TextEncoder()
const framed = new WeakMap<Envelope, Uint8Array>()
let serialised = 0
const frameOf = (event: Envelope) => {
  let bytes = framed.get(event)
  if (!bytes) {
    serialised++
    bytes = encoder.encode(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`)
    framed.set(event, bytes)
  }
  return bytes
}

interface FakeSink extends Sink {
  writes: Uint8Array[]
  ids: number[]
  cutAt: number | null
  /** While set, every write answers a promise that settles on release(). */
  backedUp: boolean
  release(): void
}

function sink(): FakeSink {
  let pending: (() => void) | null = null
  const fake: FakeSink = {
    writes: [],
    ids: [],
    cutAt: null,
    backedUp: false,
    write(bytes) {
      fake.writes.push(bytes)
      const match = /^id: (\d+)/.exec(new TextDecoder().decode(bytes.subarray(0, 24)))
      if (match) fake.ids.push(Number(match[1]))
      if (!fake.backedUp) return bytes.length
      return new Promise<number>((resolve) => {
        pending = () => resolve(bytes.length)
      })
    },
    flush: () => 0,
    overflow(lastId) {
      fake.cutAt = lastId
    },
    release() {
      fake.backedUp = false
      const settle = pending
      pending = null
      settle?.()
    },
  }
  return fake
}

let nextId = 0
const envelope = (sessionId: string, pad = 100): Envelope => ({
  id: ++nextId,
  type: "test.outbox",
  time: 0,
  data: { sessionId, pad: "x".repeat(pad) },
})

/** Lets the outbox's flusher (setImmediate / setTimeout batches) run a while. */
async function settle() {
  for (let i = 0; i < 8; i++) await new Promise((resolve) => setTimeout(resolve, 2))
}

/** Lets the flusher run until `done` (its batches pause when they run long, so a few ticks may not do). */
async function until(done: () => boolean) {
  while (!done()) await settle()
}

test("a live event is serialised once and every subscriber is handed the same bytes; the log empties once all have them", async () => {
  const outbox = createOutbox({ maxBytes: 1 << 20, maxTotalBytes: 16 << 20 }, frameOf)
  const sinks = Array.from({ length: 100 }, sink)
  const outlets = sinks.map((fake) => outbox.open(fake, nextId, () => true))
  const before = serialised
  const events: Envelope[] = []
  for (let n = 0; n < 500; n++) {
    const event = envelope("ses_a")
    events.push(event)
    for (const outlet of outlets) outlet.offer(event)
  }
  expect(serialised - before).toBe(500)
  // Offered, not yet written: one log entry per event, not one queue entry per subscriber and event.
  expect(outbox.logged()).toBe(500)
  await until(() => sinks.every((fake) => fake.ids.length === 500))
  for (const fake of sinks) {
    expect(fake.ids).toEqual(events.map((event) => event.id))
    // The very same Uint8Array, not an equal copy.
    expect(fake.writes.every((bytes, i) => bytes === sinks[0]!.writes[i])).toBe(true)
  }
  expect(outbox.logged()).toBe(0)
  expect(outbox.total()).toBe(0)
  for (const outlet of outlets) outlet.close()
})

test("a backed-up subscriber holds the log only until its byte bound cuts it, with its last sent id as resume point", async () => {
  const outbox = createOutbox({ maxBytes: 64 * 1024, maxTotalBytes: 16 << 20 }, frameOf)
  const reader = sink()
  const stalled = sink()
  const outlets = [outbox.open(reader, nextId, () => true), outbox.open(stalled, nextId, () => true)]
  const first = envelope("ses_a")
  for (const outlet of outlets) outlet.offer(first)
  await settle()
  stalled.backedUp = true
  const offer = (pad: number) => {
    const event = envelope("ses_a", pad)
    for (const outlet of outlets) outlet.offer(event)
  }
  for (let n = 0; n < 10; n++) offer(100)
  await settle()
  // Its write answered a promise: it waits, and the log keeps what it has not been sent.
  expect(stalled.cutAt).toBeNull()
  expect(outbox.logged()).toBeGreaterThan(0)
  const sent = stalled.ids.at(-1)!
  while (stalled.cutAt === null) {
    for (let n = 0; n < 16; n++) offer(1000)
    await settle()
  }
  expect(stalled.cutAt).toBe(sent)
  await until(() => reader.ids.at(-1) === nextId)
  expect(outbox.logged()).toBe(0)
  expect(outbox.total()).toBe(0)
  // The reader has everything, in order.
  expect(reader.ids).toEqual(Array.from({ length: reader.ids.length }, (_, i) => first.id + i))
  expect(reader.ids.at(-1)).toBe(nextId)
  for (const outlet of outlets) outlet.close()
})

test("a filtered subscriber that lags does not hold the log past the total bound, and still gets exactly its events in order", async () => {
  const total = 256 * 1024
  const outbox = createOutbox({ maxBytes: 64 << 20, maxTotalBytes: total }, frameOf)
  const reader = sink()
  const filtered = sink()
  const wants = (event: Envelope) => (event.data as { sessionId: string }).sessionId === "ses_b"
  const all = outbox.open(reader, nextId, () => true)
  const few = outbox.open(filtered, nextId, wants)
  await settle()
  filtered.backedUp = true
  // Its first ses_b event backs it up; 1 in 50 of what follows is its own.
  const expected: number[] = []
  let peakLog = 0
  for (let n = 0; n < 3_000; n++) {
    const event = envelope(n % 50 === 0 ? "ses_b" : "ses_a", 300)
    all.offer(event)
    if (wants(event)) {
      expected.push(event.id)
      few.offer(event)
    }
    if (n % 100 === 0) await settle()
    peakLog = Math.max(peakLog, outbox.logged())
  }
  await settle()
  // 3,000 events of ~400 B (1.2 MB) went by; the log never held much more than the total bound.
  expect(peakLog * 400).toBeLessThan(total * 1.5)
  expect(filtered.cutAt).toBeNull()
  filtered.release()
  await until(() => filtered.ids.length === expected.length && reader.ids.length === 3_000)
  expect(filtered.ids).toEqual(expected)
  expect(reader.ids.length).toBe(3_000)
  expect(outbox.logged()).toBe(0)
  all.close()
  few.close()
})
