import { describe, expect, test } from "bun:test"
import { createBus } from "../../src/bus/bus.ts"
import { defineEvent } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"

const Ping = defineEvent("test.ping", Type.Object({ n: Type.Number() }))

describe("bus", () => {
  test("ids are monotonic, replay covers the buffer, a throwing subscriber does not stop others", () => {
    const bus = createBus({ history: 10, startId: 100 })
    const seen: number[] = []
    bus.subscribe(Ping, () => {
      throw new Error("bad subscriber")
    })
    bus.subscribe(Ping, (event) => seen.push(event.data.n))
    const ids = Array.from({ length: 15 }, (_, n) => bus.publish(Ping, { n }).id)
    expect(ids[0]).toBe(101)
    expect(ids.every((id, index) => index === 0 || id === ids[index - 1]! + 1)).toBe(true)
    expect(seen).toHaveLength(15)
    expect(bus.since(110)!.map((event) => event.id)).toEqual([111, 112, 113, 114, 115])
    expect(bus.since(101)).toBeNull() // older than the buffer: the caller must know events were lost
  })

  test("once resolves on the first matching event and unsubscribes", async () => {
    const bus = createBus()
    const waiting = bus.once(Ping, (data) => data.n === 2)
    bus.publish(Ping, { n: 1 })
    bus.publish(Ping, { n: 2 })
    expect((await waiting).data.n).toBe(2)
    expect(bus.subscribers()).toBe(0)
  })
})
