/**
 * Schedules through the real gateway: a turn fires at its time, its answer is delivered to the fake
 * Telegram chat, and neither a restart nor a kill -9 makes the same due time run twice. Waiting on the
 * clock is the behaviour under test here, so the schedules use short `every` intervals.
 */
import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { demoConfig } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const OWNER = 111

interface State {
  id: string
  next: number | null
  lastDue: number | null
  lastStatus: string | null
  sessionId: string | null
}

const state = async (gw: RunningGateway) =>
  (await (await gw.api("/schedules")).json()) as { schedules: State[]; deliveries: string[] }

function config(tg: FakeTelegram, schedule: Record<string, unknown>) {
  return demoConfig({
    channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
    schedules: [
      {
        id: "morning",
        every: "2s",
        prompt: "morning summary please",
        deliver: { channel: "telegram", chat: OWNER },
        ...schedule,
      },
    ],
  })
}

/** A supervised gateway runs in a child process: kill whatever still holds the workspace lock, too. */
async function killHolder(pidFile: string) {
  const file = Bun.file(pidFile)
  if (!(await file.exists())) return
  const { pid } = JSON.parse(await file.text()) as { pid: number }
  const alive = () => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  if (alive()) process.kill(pid, "SIGKILL")
  while (alive()) await Bun.sleep(20)
}

const delivered = (tg: FakeTelegram) =>
  tg.chat(OWNER).filter((message) => message.text.includes("morning summary please"))

test("a schedule fires at its time, delivers to the Telegram chat, and does not fire twice across a restart or a kill -9", async () => {
  const tg = await FakeTelegram.start()
  await using ws = await workspace({ config: config(tg, {}) })
  const t0 = Date.now()
  let first: State
  {
    await using gw = await spawnGateway(ws.path)
    expect((await state(gw)).deliveries).toEqual(["telegram"])
    await tg.waitFor(() => delivered(tg).length === 1, 10_000, "first delivery")
    expect(delivered(tg)[0]!.at).toBeGreaterThanOrEqual(t0 + 2_000)
    first = (await state(gw)).schedules[0]!
    expect(first.lastDue!).toBeGreaterThanOrEqual(t0 + 2_000)
    expect(first.sessionId).toMatch(/^ses_/)
    // Killed right after the run: the claim (its due time) is already durable.
    await gw.kill9()
    await killHolder(ws.file(".drost/gateway.pid"))
  }
  {
    await using gw = await spawnGateway(ws.path)
    await tg.waitFor(() => delivered(tg).length === 2, 10_000, "second delivery")
    const second = (await state(gw)).schedules[0]!
    // The next run is a later due time, never the first one again; same session (reused).
    expect(second.lastDue!).toBeGreaterThan(first.lastDue!)
    expect(second.sessionId).toBe(first.sessionId)
    // One turn per due time: the schedule's session holds exactly one prompt per delivery.
    const session = (await (await gw.api(`/sessions/${second.sessionId}?limit=100`)).json()) as {
      messages: { role: string }[]
      turns: { source: string }[]
    }
    expect(session.turns.length).toBe(delivered(tg).length)
    expect(session.turns.every((turn) => turn.source === "schedule")).toBe(true)
    expect(await gw.stop()).toBe(0)
  }
  tg.stop()
}, 45_000)

test("missed runs: once (default) runs one catch-up at start; skip waits for the next time", async () => {
  for (const missed of ["once", "skip"] as const) {
    const tg = await FakeTelegram.start()
    await using ws = await workspace({ config: config(tg, { every: "3s", missed }) })
    let lastDue: number
    {
      await using gw = await spawnGateway(ws.path)
      await tg.waitFor(() => delivered(tg).length === 1, 10_000, "first delivery")
      lastDue = (await state(gw)).schedules[0]!.lastDue!
      expect(await gw.stop()).toBe(0)
    }
    // Down for more than two intervals: two due times pass unseen.
    await Bun.sleep(Math.max(0, lastDue + 6_500 - Date.now()))
    await using gw = await spawnGateway(ws.path)
    const ready = Date.now()
    await tg.waitFor(() => delivered(tg).length === 2, 8_000, "the run after the restart")
    const first = (await state(gw)).schedules[0]!
    expect(first.sessionId).toMatch(/^ses_/)
    expect(await gw.stop()).toBe(0)
    const dues = (await Bun.file(ws.file(".drost/logs/events.jsonl")).text())
      .split("\n")
      .filter((line) => line.includes('"schedule.run"'))
      .map((line) => (JSON.parse(line).data as { due: number }).due)
    // Due times that passed while the gateway was down (at least two) ran once (the latest), or not at all.
    const missedRuns = dues.filter((due) => due > lastDue && due <= ready)
    expect(missedRuns.length).toBe(missed === "once" ? 1 : 0)
    if (missed === "once") {
      expect(missedRuns[0]!).toBeGreaterThanOrEqual(lastDue + 6_000)
      expect(ready - missedRuns[0]!).toBeLessThan(3_000)
    }
    expect(dues.every((due) => (due - lastDue) % 3_000 === 0)).toBe(true)
    tg.stop()
  }
}, 60_000)

test("cron and every: next times, and config errors name the schedule's path", async () => {
  const { nextCron, nextRun, parseCron } = await import("../../src/core/cron.ts")
  const { resolveConfig } = await import("../../src/gateway/load.ts")
  const at = (text: string) => new Date(text).getTime()
  // Weekdays at 07:00 local time: from a Friday evening the next is Monday.
  const monday = new Date(nextCron(parseCron("0 7 * * 1-5"), at("2025-03-07T20:00:00")))
  expect([monday.getDay(), monday.getHours(), monday.getMinutes()]).toEqual([1, 7, 0])
  expect(new Date(nextCron(parseCron("*/15 * * * *"), at("2025-03-07T20:07:30"))).getMinutes()).toBe(15)
  // Day-of-month or weekday (cron's rule when both are restricted): the 13th, or any Friday.
  expect(new Date(nextCron(parseCron("0 0 13 * 5"), at("2025-03-01T00:00:00"))).getDate()).toBe(7)
  expect(nextRun({ every: "30m" }, at("2025-03-07T10:10:00"), at("2025-03-07T10:00:00"))).toBe(
    at("2025-03-07T10:30:00"),
  )
  const problems = (schedules: unknown[]) => {
    try {
      resolveConfig({ schedules }, "/tmp", "drost.config.json")
      return ""
    } catch (error) {
      return (error as Error).message
    }
  }
  expect(problems([{ id: "x", every: "5 minutes", prompt: "p" }])).toContain(
    "schedules[0].every: expected string to match",
  )
  const message = problems([
    { id: "x", cron: "61 * * * *", prompt: "p" },
    { id: "x", every: "1h", prompt: "p" },
    { id: "y", prompt: "p" },
  ])
  expect(message).toContain('schedules[0].cron: "61 * * * *": Invalid value for minute: 61')
  expect(message).toContain('schedules[1].id: duplicate schedule id "x"')
  expect(message).toContain("schedules[2]: needs exactly one of cron, every or at")
})
