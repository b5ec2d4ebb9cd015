/**
 * The order a channel hands events on in once the inbox's writes are awaited (src/channels/arrivals.ts):
 * on PostgreSQL a later write may finish first, and a row stored while the replay reads the inbox may be
 * in what it reads too.
 */
import { expect, test } from "bun:test"
import { createArrivals } from "../../src/channels/arrivals.ts"

/** A store answer resolved by hand. */
function later<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((yes, no) => {
    resolve = yes
    reject = no
  })
  return { promise, resolve, reject }
}

test("events are handed on in the order received, whichever write finishes first; repeats are not", async () => {
  const handed: string[] = []
  const arrivals = createArrivals<string>((event) => handed.push(event))
  const first = later<boolean>()
  const second = later<boolean>()
  const a = arrivals.receive("a", first.promise, "a")
  const b = arrivals.receive("b", second.promise, "b")
  const c = arrivals.receive("c", Promise.resolve(false), "c")
  second.resolve(true)
  await Bun.sleep(5)
  expect(handed).toEqual([])
  first.resolve(true)
  expect(await Promise.all([a, b, c])).toEqual([true, true, false])
  expect(handed).toEqual(["a", "b"])
})

test("a failed write rejects its receive and holds up nothing after it", async () => {
  const handed: string[] = []
  const arrivals = createArrivals<string>((event) => handed.push(event))
  const failing = later<boolean>()
  const a = arrivals.receive("a", failing.promise, "a")
  const b = arrivals.receive("b", Promise.resolve(true), "b")
  failing.reject(new Error("store down"))
  await expect(a).rejects.toThrow("store down")
  expect(await b).toBe(true)
  expect(handed).toEqual(["b"])
})

test("what a previous run left comes before what is received after the replay began, each once", async () => {
  const handed: string[] = []
  const arrivals = createArrivals<string>((event) => handed.push(event))
  const pending = later<{ id: string; event: string }[]>()
  const replay = arrivals.replay(pending.promise)
  // Received while the replay reads the inbox, and stored before the read: the read returns it too.
  const fresh = arrivals.receive("new", Promise.resolve(true), "new")
  pending.resolve([
    { id: "old", event: "old" },
    { id: "new", event: "new" },
  ])
  expect(await replay).toBe(2)
  expect(await fresh).toBe(true)
  expect(handed).toEqual(["old", "new"])
})

test("an event handed on before the replay ran is skipped by it", async () => {
  const handed: string[] = []
  const arrivals = createArrivals<string>((event) => handed.push(event))
  await arrivals.receive("x", Promise.resolve(true), "x")
  expect(await arrivals.replay(Promise.resolve([{ id: "x", event: "x" }]))).toBe(1)
  expect(handed).toEqual(["x"])
})
