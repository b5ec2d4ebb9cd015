/**
 * Stopping the gateway leaves no schedule timer behind. A refresh (a schedule made or changed through
 * the API or a tool) used to drop the pending timer without clearing it; once the gateway stopped, that
 * orphan fired against the closed store and threw "Database has closed" from a timer (seen in a full
 * test run: errors in whatever test ran a minute later, and in a gateway process, an uncaught error).
 */
import { expect, test } from "bun:test"
import { inProcess } from "../api/inprocess.ts"

test("a schedule made after start, then a stop: no timer fires against the closed store", async () => {
  const api = await inProcess()
  await api.gw.continuity.schedules.start()
  const make = async (body: object) =>
    (
      await api.fetch("/control/v1/schedules", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })
    ).status
  // The first plans a timer due in 1 s; the second refreshes the plan (the old code orphaned that timer).
  expect(await make({ prompt: "soon", in: "1s" })).toBe(201)
  expect(await make({ prompt: "later", in: "1h" })).toBe(201)
  await api[Symbol.asyncDispose]()
  const errors: unknown[] = []
  const record = (error: unknown) => errors.push(error)
  process.on("uncaughtException", record)
  try {
    // Past the first timer's time: an orphan would fire now, with the store closed.
    await Bun.sleep(1_500)
  } finally {
    process.off("uncaughtException", record)
  }
  expect(errors.map(String)).toEqual([])
})
