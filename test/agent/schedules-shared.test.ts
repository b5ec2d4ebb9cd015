/**
 * Schedules on one store shared by two gateways (issue 22 item 3: "schedules fire once across nodes, the
 * claim that exists"): two schedulers (src/agent/schedules.ts), each over its own handle of the same
 * database with its own sessions service, plan the same schedules and race for each due time's claim;
 * every due time runs on one of them, once, and both report the run. At start a scheduler interrupts
 * only the runs of gateways that are gone. On a real PostgreSQL (test/lib/postgres.ts) and on one SQLite
 * file opened twice.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ContinuityEvent } from "../../src/agent/continuity-events.ts"
import { createScheduler } from "../../src/agent/schedules.ts"
import { createSessions } from "../../src/agent/session.ts"
import { createBus } from "../../src/bus/bus.ts"
import type { Schedule } from "../../src/core/continuity-config.ts"
import type { Provider, StreamEvent } from "../../src/core/provider.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { createToolRegistry } from "../../src/tool/registry.ts"
import { Log } from "../../src/util/log.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"

const provider: Provider = {
  id: "fake",
  kind: "demo",
  model: "fake-1",
  async *stream(): AsyncGenerator<StreamEvent> {
    yield { type: "text", delta: "done it" }
    yield { type: "done", stop: "stop" }
  },
}

type Run = { scheduleId: string; sessionId: string; due: number; status: string; delivered: boolean }

/** One gateway's scheduler over `data`: its own bus and sessions service, its runs and deliveries recorded. */
function gateway(data: Store, owner: string, config: Schedule[] = []) {
  const bus = createBus({ startId: 1 })
  const root = mkdtempSync(join(tmpdir(), "drost-shared-schedules-"))
  const sessions = createSessions({
    data,
    bus,
    tools: createToolRegistry({ timeoutMs: 1000, outputLimit: 200, log: Log.create("test") }),
    providers: () => new Map([[provider.id, provider]]),
    defaultProvider: () => provider.id,
    systemPrompt: async () => "test",
    limits: () => ({ maxSteps: 2, maxToolCalls: 2, turnTimeoutMs: 10_000 }),
    workspace: { root, tools: join(root, "tools"), memory: join(root, "memory"), prompts: join(root, "prompts") },
    log: Log.create("test"),
  })
  const runs: Run[] = []
  const delivered: string[] = []
  bus.subscribe(ContinuityEvent.ScheduleRun, (event) => void runs.push(event.data))
  const scheduler = createScheduler({
    store: data.schedules,
    bus,
    sessions,
    schedules: () => config,
    deliver: async (_channel, _chat, text) => void delivered.push(text),
    log: Log.create("schedule"),
    owner: { id: owner, staleMs: 60_000 },
  })
  return {
    scheduler,
    runs,
    delivered,
    async close() {
      await scheduler.stop()
      await sessions.drain(1000)
      await data.close()
    },
  }
}

async function until(what: string, probe: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}

const engines: { name: string; pair: (owners: string[]) => Promise<Store[]> }[] = [
  {
    name: "sqlite",
    pair: async (owners) => {
      const file = join(mkdtempSync(join(tmpdir(), "drost-shared-schedules-")), "drost.db")
      return owners.map((owner) => openSqlite(file, { owner }))
    },
  },
]
const skip = postgresSkip()
if (!skip) {
  const pg = postgresPerFile()
  engines.push({
    name: "postgres",
    pair: async (owners) => {
      const url = await pg.server.database()
      const stores: Store[] = []
      for (const owner of owners) stores.push(await openPostgres(url, { owner, max: 4 }))
      return stores
    },
  })
} else test.skip(`schedules on PostgreSQL (skipped: ${skip})`, () => {})

describe.each(engines)("two gateways' schedulers on $name", ({ pair }) => {
  test("a due reminder runs once across both: one turn, one delivery, both report it done", async () => {
    const [a, b] = await pair(["gw-a", "gw-b"])
    const at = new Date(Date.now() + 700).toISOString()
    const made = await a!.schedules.insert(
      { id: "sch_remind", at, prompt: "remind the user", deliver: { channel: "test", chat: 1 } },
      "api",
    )
    const one = gateway(a!, "gw-a")
    const two = gateway(b!, "gw-b")
    try {
      await Promise.all([one.scheduler.start(), two.scheduler.start()])
      // Both planned the same time.
      expect((await one.scheduler.get(made.id))!.next).toBe(Date.parse(at))
      expect((await two.scheduler.get(made.id))!.next).toBe(Date.parse(at))
      await until("the run", () => one.runs.length + two.runs.length === 1)
      // Past the time by more than a sweep: the other gateway did not run it too.
      await Bun.sleep(800)
      const runs = [...one.runs, ...two.runs]
      expect(runs).toMatchObject([{ scheduleId: made.id, due: Date.parse(at), status: "completed", delivered: true }])
      expect([...one.delivered, ...two.delivered]).toEqual(["done it"])
      const turns = (await a!.sessions.turns(runs[0]!.sessionId)).map((turn) => turn.source)
      expect(turns).toEqual(["schedule"])
      for (const scheduler of [one.scheduler, two.scheduler])
        expect(await scheduler.get(made.id)).toMatchObject({
          state: "done",
          next: null,
          lastDue: Date.parse(at),
          lastStatus: "completed",
          sessionId: runs[0]!.sessionId,
        })
    } finally {
      await one.close()
      await two.close()
    }
  }, 30_000)

  test("an every schedule of the config on gateways started apart: each due time runs once", async () => {
    const [a, b] = await pair(["gw-a", "gw-b"])
    const config: Schedule[] = [{ id: "tick", every: "1s", prompt: "tick" }]
    const one = gateway(a!, "gw-a", config)
    const two = gateway(b!, "gw-b", config)
    try {
      await one.scheduler.start()
      await Bun.sleep(400) // the second's own first time is 400 ms after the first's
      await two.scheduler.start()
      await until("three runs", () => one.runs.length + two.runs.length >= 3)
      await Bun.sleep(300)
      await one.scheduler.stop()
      await two.scheduler.stop()
      const dues = [...one.runs, ...two.runs].map((run) => run.due).sort((x, y) => x - y)
      expect(new Set(dues).size).toBe(dues.length)
      // A whole interval between runs: the second gateway's own first time (400 ms later) never ran.
      for (let index = 1; index < dues.length; index++)
        expect(dues[index]! - dues[index - 1]!).toBeGreaterThanOrEqual(1000)
      expect([...one.runs, ...two.runs].every((run) => run.status === "completed")).toBe(true)
      const session = (await a!.schedules.runs.get("tick"))!.sessionId!
      expect((await a!.sessions.turns(session)).length).toBe(dues.length)
    } finally {
      await one.close()
      await two.close()
    }
  }, 30_000)

  test("a reminder made on one gateway after both started, which then stops, runs on the other at its time", async () => {
    const [a, b] = await pair(["gw-a", "gw-b"])
    // The second gateway sweeps every second for its own schedule; that sweep also finds the new reminder.
    const one = gateway(a!, "gw-a")
    const two = gateway(b!, "gw-b", [{ id: "tick", every: "1s", prompt: "tick" }])
    try {
      await Promise.all([one.scheduler.start(), two.scheduler.start()])
      const at = Date.now() + 2500
      const made = await a!.schedules.insert({ id: "sch_late", at: new Date(at).toISOString(), prompt: "late" }, "api")
      await one.scheduler.refresh(made.id)
      expect((await one.scheduler.get(made.id))!.next).toBe(at)
      await one.scheduler.stop() // this gateway is gone before the reminder's time
      await until("the reminder's run on the other", () => two.runs.some((run) => run.scheduleId === made.id))
      expect(two.runs.filter((run) => run.scheduleId === made.id)).toMatchObject([{ due: at, status: "completed" }])
      expect(one.runs).toEqual([])
    } finally {
      await one.close()
      await two.close()
    }
  }, 30_000)

  test("at start only the runs of gone gateways are interrupted, not a live peer's", async () => {
    const [a, b, dead] = await pair(["gw-a", "gw-b", "gw-dead"])
    await a!.gateways.register("gw-a")
    await b!.gateways.register("gw-b")
    // A run of the live peer and one of a gateway that is not registered (gone), both left running.
    expect(await b!.schedules.runs.claim("peer", 1000)).toBe(true)
    expect(await dead!.schedules.runs.claim("lost", 2000)).toBe(true)
    await dead!.close()
    const one = gateway(a!, "gw-a")
    try {
      await one.scheduler.start()
      expect(await a!.schedules.runs.get("lost")).toMatchObject({
        lastStatus: "interrupted",
        lastError: "the gateway stopped during the run",
      })
      expect((await a!.schedules.runs.get("peer"))!.lastStatus).toBe("running")
      // The heartbeat's sweep (gateway.ts recoverGone) takes the peer's once it is gone.
      await b!.gateways.remove("gw-b")
      expect(await one.scheduler.recover({ gone: { self: "gw-a", staleMs: 60_000 } })).toEqual([
        { id: "peer", due: 1000, why: "gateway gw-b is not registered" },
      ])
    } finally {
      await one.close()
      await b!.close()
    }
  }, 30_000)
})
