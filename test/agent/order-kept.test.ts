/**
 * The kept reading order (src/agent/order.ts) against the order computed from scratch, on histories
 * that grow the way the store hands them out (the same message objects, appended to), with messages
 * of earlier turns arriving late, messages outside any turn, running turns and merged (collected)
 * turns, and histories replaced by a fresh read of the store.
 */
import { expect, test } from "bun:test"
import { KEEP_FROM, ordered } from "../../src/agent/order.ts"
import type { Message } from "../../src/core/message.ts"

/** The order as specified (the implementation before it was kept): sort everything at every call. */
function fromScratch(messages: Message[], current?: { turnId: string; merged?: string[] }): Message[] {
  const first = new Map<string, number>()
  for (const message of messages)
    if (message.turnId && !first.has(message.turnId)) first.set(message.turnId, message.seq)
  const merged = new Set(current?.merged ?? [])
  const cutoff = current ? (first.get(current.turnId) ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY
  const key = (message: Message) =>
    !message.turnId ? message.seq : merged.has(message.turnId) ? cutoff : first.get(message.turnId)!
  return messages
    .filter((message) => !message.turnId || merged.has(message.turnId) || first.get(message.turnId)! <= cutoff)
    .map((message) => ({ message, key: key(message) }))
    .sort((a, b) => a.key - b.key || a.message.seq - b.message.seq)
    .map((entry) => entry.message)
}

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

function history(session: string, seed: number) {
  const next = random(seed)
  const messages: Message[] = []
  const turns: string[] = []
  let seq = seed * 100_000
  const add = () => {
    const roll = next()
    // Mostly the newest turn; sometimes an earlier one (a late answer), a new turn, or no turn at all.
    let turnId: string | null
    if (turns.length === 0 || roll < 0.15) {
      turnId = `t${turns.length}`
      turns.push(turnId)
    } else if (roll < 0.2) turnId = null
    else if (roll < 0.3) turnId = turns[Math.floor(next() * turns.length)]!
    else turnId = turns.at(-1)!
    seq += 1 + Math.floor(next() * 3)
    messages.push({
      id: `m${seq}`,
      seq,
      sessionId: session,
      turnId,
      role: next() < 0.5 ? "user" : "assistant",
      parts: [{ type: "text", text: `message ${seq}` }],
      provider: null,
      usage: null,
      createdAt: seq,
    })
  }
  /** Some turn views a running turn could ask for: the newest, an earlier one, with merges, an unknown one. */
  const currents = () => {
    const pick = () => turns[Math.floor(next() * turns.length)]!
    return [
      undefined,
      { turnId: turns.at(-1)! },
      { turnId: pick() },
      { turnId: pick(), merged: [pick(), pick()] },
      { turnId: turns.at(-1)!, merged: [turns[0]!] },
      { turnId: "not-yet-written", merged: [pick()] },
    ]
  }
  return { messages, add, currents }
}

const ids = (messages: Message[]) => messages.map((message) => message.seq)

test("the kept order equals the order from scratch while histories grow, for every kind of running turn", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const h = history(`s${seed}`, seed)
    for (let i = 0; i < KEEP_FROM + 40; i++) h.add()
    for (let step = 0; step < 60; step++) {
      const grow = 1 + Math.floor(random(seed * 7 + step)() * 6)
      for (let i = 0; i < grow; i++) h.add()
      // The store hands out a fresh array of the same message objects each time.
      const given = h.messages.slice()
      for (const current of h.currents()) expect(ids(ordered(given, current))).toEqual(ids(fromScratch(given, current)))
    }
  }
})

test("a history read afresh (new objects), one that shrank, and one whose seqs do not increase are ordered from scratch", () => {
  const h = history("fresh", 99)
  for (let i = 0; i < KEEP_FROM * 2; i++) h.add()
  expect(ids(ordered(h.messages.slice()))).toEqual(ids(fromScratch(h.messages)))
  const copies = h.messages.map((message) => ({ ...message }))
  copies.push({ ...copies.at(-1)!, seq: copies.at(-1)!.seq + 1, id: "late", turnId: "t0" })
  for (const current of [undefined, { turnId: "t0" }, { turnId: "t1", merged: ["t0"] }])
    expect(ids(ordered(copies, current))).toEqual(ids(fromScratch(copies, current)))
  const shorter = copies.slice(0, KEEP_FROM + 3)
  expect(ids(ordered(shorter, { turnId: "t1" }))).toEqual(ids(fromScratch(shorter, { turnId: "t1" })))
  const swapped = shorter.slice()
  swapped.push({ ...shorter[5]!, id: "older-seq" })
  expect(ids(ordered(swapped))).toEqual(ids(fromScratch(swapped)))
  // Sessions that interleave their calls keep their own orders.
  const other = history("other", 5)
  for (let i = 0; i < KEEP_FROM + 1; i++) other.add()
  for (let round = 0; round < 5; round++) {
    other.add()
    h.add()
    expect(ids(ordered(other.messages.slice()))).toEqual(ids(fromScratch(other.messages)))
    expect(ids(ordered(h.messages.slice(), { turnId: "t2" }))).toEqual(ids(fromScratch(h.messages, { turnId: "t2" })))
  }
})

test("more sessions than are kept: the least recently used ones are ordered afresh, every order still right", () => {
  const histories = Array.from({ length: 40 }, (_, i) => history(`many${i}`, 200 + i))
  for (const h of histories) for (let i = 0; i < KEEP_FROM + 10; i++) h.add()
  for (let round = 0; round < 3; round++)
    for (const h of histories) {
      h.add()
      h.add()
      for (const current of h.currents())
        expect(ids(ordered(h.messages.slice(), current))).toEqual(ids(fromScratch(h.messages, current)))
    }
})
