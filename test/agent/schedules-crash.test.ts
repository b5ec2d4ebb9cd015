/**
 * A stored reminder and kill -9 (issue 17 item 2): the at-most-once claim and the missed-run policy
 * hold for schedules made at run time as for the config's. Killed before its time and started after
 * it, a reminder runs once (missed: once) or not at all (missed: skip); killed while its turn runs, it
 * is marked interrupted and never runs a second time. Reminders are made through the Control API and
 * delivered to the fake Telegram; the clock passing is the behaviour, so the times are seconds.
 */
import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { events, OWNER, telegramConfig, waitEvent } from "../channels/helpers.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

interface State {
  id: string
  state: string
  at: string | null
  next: number | null
  lastDue: number | null
  lastStatus: string | null
  lastError: string | null
}

/** A supervised gateway runs in a child process: kill whatever still holds the workspace lock, too. */
async function killHolder(ws: Workspace) {
  const file = Bun.file(ws.file(".drost/gateway.pid"))
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

async function crash(gw: RunningGateway, ws: Workspace) {
  await gw.kill9()
  await killHolder(ws)
}

const remind = async (gw: RunningGateway, body: Record<string, unknown>) => {
  const response = await gw.api("/schedules", {
    method: "POST",
    json: { deliver: { channel: "telegram", chat: OWNER }, ...body },
  })
  expect(response.status).toBe(201)
  return (await response.json()) as State
}
const read = async (gw: RunningGateway, id: string) => (await (await gw.api(`/schedules/${id}`)).json()) as State
const runsOf = (ws: Workspace, id: string) =>
  events(ws).filter((event) => event.type === "schedule.run" && event.data.scheduleId === id)
const delivered = (tg: FakeTelegram, word: string) => tg.chat(OWNER).filter((message) => message.text.includes(word))

test("killed before its time: missed once runs the reminder once at the next start, missed skip never", async () => {
  for (const missed of ["once", "skip"] as const) {
    const tg = await FakeTelegram.start()
    await using ws = await workspace({ config: telegramConfig(tg) })
    let made: State
    {
      await using gw = await spawnGateway(ws.path)
      made = await remind(gw, { prompt: `water ${missed}`, in: "3s", missed })
      expect(made.next).toBe(Date.parse(made.at!))
      await crash(gw, ws) // before it was due
    }
    // Down while it was due.
    await Bun.sleep(Math.max(0, Date.parse(made.at!) + 1_000 - Date.now()))
    {
      await using gw = await spawnGateway(ws.path)
      if (missed === "once") {
        await tg.waitFor(() => delivered(tg, `water ${missed}`).length === 1, 10_000, "the catch-up run")
        await waitEvent(ws, "schedule.run", (data) => data.scheduleId === made.id)
        expect(await read(gw, made.id)).toMatchObject({ state: "done", lastStatus: "completed" })
      } else expect(await read(gw, made.id)).toMatchObject({ state: "done", next: null, lastDue: null })
      expect(await gw.stop()).toBe(0)
    }
    {
      // And a start after that does not run it (again).
      await using gw = await spawnGateway(ws.path)
      const state = await read(gw, made.id)
      expect(state).toMatchObject({ state: "done", next: null })
      expect(state.lastDue).toBe(missed === "once" ? Date.parse(made.at!) : null)
      expect(await gw.stop()).toBe(0)
    }
    expect(delivered(tg, `water ${missed}`).length).toBe(missed === "once" ? 1 : 0)
    expect(runsOf(ws, made.id).length).toBe(missed === "once" ? 1 : 0)
    tg.stop()
  }
}, 60_000)

test("killed while the reminder's turn runs: it is interrupted, not run a second time", async () => {
  const tg = await FakeTelegram.start()
  // A slow model: the turn is still streaming when the gateway is killed.
  await using ws = await workspace({ config: telegramConfig(tg, {}, { delayMs: 400 }) })
  let made: State
  {
    await using gw = await spawnGateway(ws.path)
    made = await remind(gw, { prompt: "stretch", in: "2s" })
    const deadline = Date.now() + 15_000
    while ((await read(gw, made.id)).lastStatus !== "running") {
      if (Date.now() > deadline) throw new Error("the reminder never started")
      await Bun.sleep(50)
    }
    await crash(gw, ws)
  }
  {
    await using gw = await spawnGateway(ws.path)
    const state = await read(gw, made.id)
    expect(state).toMatchObject({
      state: "done",
      next: null,
      lastDue: Date.parse(made.at!),
      lastStatus: "interrupted",
      lastError: "the gateway stopped during the run",
    })
    expect(await gw.stop()).toBe(0)
  }
  expect(delivered(tg, "stretch").length).toBe(0)
  expect(runsOf(ws, made.id).length).toBe(0)
  tg.stop()
}, 60_000)
