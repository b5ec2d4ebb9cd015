/**
 * Ownership of background jobs and schedule runs on one shared database (two gateways, one `DROST_DB`),
 * as test/gateway/ownership.test.ts has it for turns. A gateway records itself as the owner of every job
 * it starts (`jobs.owner`) and every schedule run it claims (`schedule_runs.owner`): another gateway's
 * start and stop leave them alone, and once it dies (kill -9) the survivor's heartbeat sweep marks them
 * interrupted with the reason, as start-up recovery does. A stored reminder due on both gateways runs
 * once (the claim on the shared file), and so does a config schedule's `every` interval; a reminder moved
 * on one gateway is not run at its old time by the other.
 *
 * The models hold their answers open: the subagent's (`reply().hang()`) and the reminder's, so the job
 * and the run are provably still running while the other gateway starts and stops.
 */
import { expect, test } from "bun:test"
import { Database } from "bun:sqlite"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { fakeProfile } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const ENV = { DROST_FAKE_KEY: "test-key" }

const config = (main: FakeOpenAI, worker: FakeOpenAI, extra: Record<string, unknown> = {}) => ({
  providers: {
    profiles: [fakeProfile("main", main.baseUrl), fakeProfile("worker", worker.baseUrl)],
    failover: { enabled: false },
  },
  controlApi: { port: 0 },
  // A held model call is aborted this soon at a stop (the test's cleanup), not after the default 10 s.
  shutdown: { graceMs: 500 },
  ...extra,
})

/** Read the shared file the way a third party would (read-only, its own connection). */
function read<T>(file: string, sql: string, ...args: string[]): T[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.query<T, string[]>(sql).all(...args)
  } finally {
    db.close()
  }
}
const jobRows = (file: string) =>
  read<{ id: string; kind: string; status: string; error: string | null }>(
    file,
    "SELECT id, kind, status, error FROM jobs ORDER BY kind",
  )
const runRow = (file: string, id: string) =>
  read<{ last_status: string | null; last_error: string | null }>(
    file,
    "SELECT last_status, last_error FROM schedule_runs WHERE id = ?",
    id,
  )[0]

const logged = async (ws: Workspace) => {
  const file = Bun.file(ws.file(".drost/logs/events.jsonl"))
  return (await file.exists()) ? await file.text() : ""
}
const events = async (ws: Workspace, type: string) =>
  (await logged(ws))
    .split("\n")
    .filter((line) => line.includes(`"type":"${type}"`))
    .map((line) => JSON.parse(line) as { data: Record<string, unknown> })

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T, ms = 10_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

interface ScheduleState {
  id: string
  at: string | null
  next: number | null
  lastStatus: string | null
  lastError: string | null
}
const schedule = async (gw: RunningGateway, id: string) =>
  (await (await gw.api(`/schedules/${id}`)).json()) as ScheduleState

/**
 * On `gw`: a turn that starts a subagent (its model hangs) and a background `sleep`, then a reminder due
 * in a second whose turn hangs too; returns once both jobs and the reminder's run are running.
 */
async function busy(gw: RunningGateway, main: FakeOpenAI, worker: FakeOpenAI, file: string) {
  worker.always(reply().hang())
  main.queue(
    reply()
      .tool("agent.spawn", { task: "Summarise the logs", provider: "worker" })
      .tool("shell", { command: "sleep 60", background: true }),
    reply().text("Both are running."),
    reply().hang(), // the reminder's turn
  )
  const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const answer = (await (
    await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input: "go" } })
  ).json()) as {
    text: string
  }
  expect(answer.text).toBe("Both are running.")
  await worker.wait(1)
  const made = await gw.api("/schedules", { method: "POST", json: { prompt: "stretch", in: "1s" } })
  expect(made.status).toBe(201)
  const reminder = ((await made.json()) as ScheduleState).id
  await until("the reminder's run", async () => (await schedule(gw, reminder)).lastStatus === "running")
  await main.wait(3)
  const jobs = jobRows(file)
  expect(jobs.map((job) => [job.kind, job.status])).toEqual([
    ["agent", "running"],
    ["shell", "running"],
  ])
  return { session, reminder, jobs }
}

test("a background job and a schedule run of one gateway survive another gateway's start and stop on the database", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  await using a = await workspace({ config: config(main, worker) })
  await using b = await workspace({ config: config(main, worker) })
  const shared = a.file("shared.db")
  const env = { ...ENV, DROST_DB: shared }
  await using first = await spawnGateway(a.path, { env })
  const work = await busy(first, main, worker, shared)

  // The second gateway's start-up recovery runs before its ready line.
  await using second = await spawnGateway(b.path, { env })
  expect(jobRows(shared).map((job) => job.status)).toEqual(["running", "running"])
  expect(runRow(shared, work.reminder)?.last_status).toBe("running")
  // gateway.started names the gateway, as GET /control/v1/status does.
  const started = await until("b's gateway.started", async () => (await events(b, "gateway.started"))[0])
  const status = (await (await second.api("/status")).json()) as { gatewayId: string }
  expect(started.data.gatewayId).toBe(status.gatewayId)
  expect(status.gatewayId).toMatch(/^gw_/)

  // Its clean stop marks only its own work.
  expect(await second.stop()).toBe(0)
  expect(jobRows(shared).map((job) => job.status)).toEqual(["running", "running"])
  expect(runRow(shared, work.reminder)?.last_status).toBe("running")
  expect((await schedule(first, work.reminder)).lastStatus).toBe("running")
  expect(await events(b, "job.ended")).toEqual([])

  // The owner's own stop ends its shell job as interrupted (its own work, as before).
  expect(await first.stop()).toBe(0)
  const shell = jobRows(shared).find((job) => job.kind === "shell")!
  expect(shell).toMatchObject({ status: "interrupted", error: "the gateway stopped while it ran" })
  const endings = (await events(a, "job.ended")).map((event) => event.data.jobId)
  expect(endings).toContain(shell.id)
}, 30_000)

test("a gateway killed with -9: the other one's heartbeat sweep interrupts its background jobs and schedule run", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  // Every gateway on one database uses the same heartbeat; short here so the sweep comes soon.
  await using a = await workspace({ config: config(main, worker, { store: { heartbeatMs: 300 } }) })
  await using b = await workspace({ config: config(main, worker, { store: { heartbeatMs: 300 } }) })
  const shared = a.file("shared.db")
  const env = { ...ENV, DROST_DB: shared }
  await using first = await spawnGateway(a.path, { env })
  await using second = await spawnGateway(b.path, { env })
  const work = await busy(first, main, worker, shared)
  await first.kill9()

  // Same host, its pid gone: the survivor's sweep takes them at once (no wait for a stale heartbeat).
  const ended = await until("the survivor to end both jobs", async () => {
    const endings = await events(b, "job.ended")
    return endings.length === 2 ? endings : undefined
  })
  expect(ended.map((event) => event.data.status)).toEqual(["interrupted", "interrupted"])
  expect(ended.map((event) => event.data.jobId).sort()).toEqual(work.jobs.map((job) => job.id).sort())
  for (const job of jobRows(shared)) {
    expect(job.status).toBe("interrupted")
    expect(job.error).toContain("the gateway stopped (crash or kill) while it ran")
  }
  await until("the run to be interrupted", () => runRow(shared, work.reminder)?.last_status === "interrupted")
  expect(runRow(shared, work.reminder)).toEqual({
    last_status: "interrupted",
    last_error: "the gateway stopped during the run",
  })
  expect(await schedule(second, work.reminder)).toMatchObject({ lastStatus: "interrupted", next: null })
  // The parent session is told of each, once (by the survivor).
  const stored = (
    (await (await second.api(`/sessions/${work.session}?limit=100`)).json()) as {
      messages: { role: string; parts: { text?: string }[] }[]
    }
  ).messages
  const notes = stored.filter((m) => m.role === "system").map((m) => m.parts.map((p) => p.text).join(""))
  for (const job of work.jobs)
    expect(notes.filter((note) => note.includes(job.id) && note.includes("was interrupted"))).toHaveLength(1)
  expect(await second.stop()).toBe(0)
}, 30_000)

test("two gateways on one database: a reminder due on both runs once, and a config `every` schedule once per interval", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  main.always(reply().text("done"))
  const tick = { schedules: [{ id: "tick", every: "1s", prompt: "tick" }] }
  await using a = await workspace({ config: config(main, worker, tick) })
  await using b = await workspace({ config: config(main, worker, tick) })
  const shared = a.file("shared.db")
  const env = { ...ENV, DROST_DB: shared }
  await using first = await spawnGateway(a.path, { env })
  const made = await first.api("/schedules", { method: "POST", json: { prompt: "water the plants", in: "2s" } })
  expect(made.status).toBe(201)
  const reminder = (await made.json()) as ScheduleState
  // Both plan it (the second reads it from the shared store at its start) and both timers fire at its time.
  await using second = await spawnGateway(b.path, { env })
  for (const gw of [first, second])
    await until("each gateway's timer to take the reminder", async () => {
      const state = await schedule(gw, reminder.id)
      return state.next === null && state.lastStatus === "completed"
    })
  const runs = async (id: string) =>
    [...(await events(a, "schedule.run")), ...(await events(b, "schedule.run"))].filter(
      (event) => event.data.scheduleId === id,
    )
  await until("the reminder's schedule.run event", async () => (await runs(reminder.id)).length > 0)
  expect((await runs(reminder.id)).map((event) => event.data.due)).toEqual([Date.parse(reminder.at!)])
  const asked = main.requests("chat").filter((hit) => JSON.stringify(hit.body).includes("water the plants"))
  expect(asked).toHaveLength(1)

  // The `every` schedule, planned by each gateway from its own start: at most one run per second.
  await until("three runs of tick", async () => (await runs("tick")).length >= 3)
  expect(await first.stop()).toBe(0)
  expect(await second.stop()).toBe(0)
  const dues = (await runs("tick")).map((event) => event.data.due as number).sort((x, y) => x - y)
  for (let i = 1; i < dues.length; i++) expect(dues[i]! - dues[i - 1]!).toBeGreaterThanOrEqual(1000)
}, 30_000)

test("two gateways on one database: a reminder one of them moves is not run at its old time by the other", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  main.always(reply().text("done"))
  await using a = await workspace({ config: config(main, worker) })
  await using b = await workspace({ config: config(main, worker) })
  const shared = a.file("shared.db")
  const env = { ...ENV, DROST_DB: shared }
  await using first = await spawnGateway(a.path, { env })
  const made = await first.api("/schedules", { method: "POST", json: { prompt: "call the bank", in: "4s" } })
  const reminder = (await made.json()) as ScheduleState
  const old = Date.parse(reminder.at!)
  await using second = await spawnGateway(b.path, { env })
  expect((await schedule(second, reminder.id)).next).toBe(old) // the second plans it at its start
  const moved = await first.api(`/schedules/${reminder.id}`, { method: "PATCH", json: { in: "1h" } })
  expect(moved.status).toBe(200)
  const later = Date.parse(((await moved.json()) as ScheduleState).at!)
  // The second gateway's timer comes at the old time: it plans the new one instead of running it.
  const state = await until("the second gateway's timer at the old time", async () => {
    const now = await schedule(second, reminder.id)
    return now.next !== old ? now : undefined
  })
  expect(state).toMatchObject({ next: later, lastStatus: null })
  expect((await schedule(first, reminder.id)).next).toBe(later)
  expect(await first.stop()).toBe(0)
  expect(await second.stop()).toBe(0)
  for (const ws of [a, b]) expect(await events(ws, "schedule.run")).toEqual([])
  expect(main.requests("chat").filter((hit) => JSON.stringify(hit.body).includes("call the bank"))).toEqual([])
}, 30_000)
