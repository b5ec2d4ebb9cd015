/**
 * The replay buffer is bounded in bytes as well as in count (issue 14: bounded memory): one
 * `tool.call.completed` carries a tool's whole output, so a count of 4,096 alone could hold hundreds of MB.
 */
import { expect, test } from "bun:test"
import { defineEvent } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"
import { approxSize, createBus } from "../../src/bus/bus.ts"

const Output = defineEvent("test.bus.output", Type.Object({ output: Type.String() }))

test("envelopes past historyBytes leave the replay buffer, oldest first; the newest always stays", () => {
  const bus = createBus({ historyBytes: 1_000_000 })
  const big = "x".repeat(300_000)
  const ids = Array.from({ length: 10 }, () => bus.publish(Output, { output: big }).id)
  // 10 × 300 KB against 1 MB: the oldest are gone, so a replay from the start reports a gap.
  expect(bus.since(ids[0]! - 1)).toBeNull()
  const kept = bus.since(ids.at(-4)!)!
  expect(kept.map((event) => event.id)).toEqual(ids.slice(-3))
  expect(bus.since(ids.at(-5)!)).toBeNull()

  const huge = bus.publish(Output, { output: "y".repeat(2_000_000) })
  expect(bus.since(huge.id - 1)!.map((event) => event.id)).toEqual([huge.id])
})

test("the count bound still applies to small envelopes", () => {
  const bus = createBus({ history: 5 })
  const ids = Array.from({ length: 8 }, (_, n) => bus.publish(Output, { output: `${n}` }).id)
  expect(bus.since(ids[2]!)!.map((event) => event.id)).toEqual(ids.slice(3))
  expect(bus.since(ids[1]!)).toBeNull()
})

test("replay stays exact while the buffer's front is cut in batches: every window, before and after each cut", () => {
  const bus = createBus({ history: 100 })
  const ids: number[] = []
  for (let n = 0; n < 5_000; n++) {
    ids.push(bus.publish(Output, { output: `${n}` }).id)
    if (n % 97 !== 0 && n < 4_990) continue
    const newest = ids.length - 1
    const oldest = Math.max(0, ids.length - 100)
    // Every resume point inside the buffer gives exactly the envelopes after it, in order.
    for (const from of [oldest - 1, oldest, newest - 50, newest - 1, newest]) {
      if (from < 0) continue
      const after = ids[from]!
      expect(bus.since(after)!.map((event) => event.id)).toEqual(ids.slice(from + 1))
      expect(bus.since(after)!.map((event) => (event.data as { output: string }).output)).toEqual(
        ids.slice(from + 1).map((_, i) => `${from + 1 + i}`),
      )
    }
    if (oldest > 1) expect(bus.since(ids[oldest - 2]!)).toBeNull()
    expect(bus.since(ids[newest]! + 5)).toEqual([])
  }
})

test("approxSize follows the strings a payload holds", () => {
  expect(approxSize({ output: "x".repeat(10_000) })).toBeGreaterThanOrEqual(10_000)
  expect(approxSize({ output: "x".repeat(10_000) })).toBeLessThan(10_100)
  expect(approxSize({ a: [{ b: "x".repeat(500) }, { c: "y".repeat(500) }] })).toBeGreaterThan(1_000)
})

test("publishing delivers to the handlers subscribed when it began: one added or removed during delivery changes the next publish only", () => {
  const bus = createBus()
  const calls: string[] = []
  let stopB: () => void = () => {}
  let stopLate: (() => void) | null = null
  bus.subscribeAll(() => {
    calls.push("a")
    // Removes b and adds a late one while this event is being delivered.
    stopB()
    stopLate ??= bus.subscribeAll(() => calls.push("late"))
  })
  stopB = bus.subscribeAll(() => calls.push("b"))
  bus.subscribe(Output, () => calls.push("typed"))
  bus.publish(Output, { output: "1" })
  expect(calls).toEqual(["typed", "a", "b"])
  calls.length = 0
  bus.publish(Output, { output: "2" })
  expect(calls).toEqual(["typed", "a", "late"])
  calls.length = 0
  stopLate!()
  const stopTyped2 = bus.subscribe(Output, () => calls.push("typed2"))
  bus.publish(Output, { output: "3" })
  expect(calls).toEqual(["typed", "typed2", "a"])
  calls.length = 0
  stopTyped2()
  bus.publish(Output, { output: "4" })
  expect(calls).toEqual(["typed", "a"])
  expect(bus.subscribers()).toBe(2)
})
