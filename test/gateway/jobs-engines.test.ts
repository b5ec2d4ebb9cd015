/**
 * Background jobs between two real gateways on one store, on both engines: one SQLite file (`DROST_DB`)
 * and one PostgreSQL database (`DROST_STORE_URL`), the jobs written and recovered through the store
 * contract's `jobs` (src/agent/jobs.ts over `gw.data`). Another gateway's start and stop leave a
 * gateway's running jobs alone; the owner's own stop ends its shell job as interrupted, published and
 * noted once; a gateway killed with -9 has its jobs ended by the survivor's heartbeat sweep, each
 * published once and noted once in the parent session. test/gateway/ownership-jobs.test.ts has the same
 * on SQLite with the schedule runs, reading the shared file itself; here everything is read through the
 * Control API, the same on both engines.
 */
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { fakeProfile } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

interface Job {
  id: string
  kind: string
  status: string
  sessionId: string
  error: string | null
}

const config = (main: FakeOpenAI, worker: FakeOpenAI, heartbeatMs?: number) => ({
  providers: {
    profiles: [fakeProfile("main", main.baseUrl), fakeProfile("worker", worker.baseUrl)],
    failover: { enabled: false },
  },
  controlApi: { port: 0 },
  // A held model call is aborted this soon at a stop, not after the default 10 s.
  shutdown: { graceMs: 500 },
  ...(heartbeatMs ? { store: { heartbeatMs } } : {}),
})

const jobs = async (gw: RunningGateway) =>
  ((await (await gw.api("/jobs")).json()) as { jobs: Job[] }).jobs.sort((x, y) => x.kind.localeCompare(y.kind))
const notes = async (gw: RunningGateway, session: string, jobId: string) =>
  (
    (await (await gw.api(`/sessions/${session}?limit=200`)).json()) as {
      messages: { role: string; parts: { text?: string }[] }[]
    }
  ).messages
    .filter((m) => m.role === "system")
    .map((m) => m.parts.map((p) => p.text ?? "").join(""))
    .filter((text) => text.includes(jobId))
const endings = async (ws: Workspace) => {
  const file = Bun.file(ws.file(".drost/logs/events.jsonl"))
  if (!(await file.exists())) return []
  return (await file.text())
    .split("\n")
    .filter((line) => line.includes('"type":"job.ended"'))
    .map((line) => JSON.parse(line).data as { jobId: string; status: string })
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, ms = 10_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

/** On `gw`: a turn that starts a subagent (its model hangs) and a background `sleep`; both running. */
async function busy(gw: RunningGateway, main: FakeOpenAI, worker: FakeOpenAI) {
  worker.always(reply().hang())
  main.queue(
    reply()
      .tool("agent.spawn", { task: "Summarise the logs", provider: "worker" })
      .tool("shell", { command: "sleep 60", background: true }),
    reply().text("Both are running."),
  )
  const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const answer = await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input: "go" } })
  expect(((await answer.json()) as { text: string }).text).toBe("Both are running.")
  await worker.wait(1)
  const running = await jobs(gw)
  expect(running.map((job) => [job.kind, job.status])).toEqual([
    ["agent", "running"],
    ["shell", "running"],
  ])
  return { session, jobs: running }
}

/**
 * `stopLogged`: whether what a gateway publishes while it stops reaches its own events.jsonl: on both
 * engines (on PostgreSQL the stop hears its own events back through the cluster link before the sinks close).
 */
const engines: {
  name: string
  stopLogged: boolean
  env: (ws: Workspace) => Promise<Record<string, string>>
}[] = [{ name: "sqlite", stopLogged: true, env: async (ws) => ({ DROST_DB: join(ws.path, "shared.db") }) }]
const skip = postgresSkip()
if (!skip) {
  const pg = postgresPerFile()
  engines.push({
    name: "postgres",
    stopLogged: true,
    env: async () => ({ DROST_STORE_URL: await pg.server.database() }),
  })
} else test.skip(`jobs between gateways on PostgreSQL (skipped: ${skip})`, () => {})

describe.each(engines)("jobs between two gateways on $name", ({ env: storeEnv, stopLogged }) => {
  test("another gateway's start and stop leave the jobs alone; the owner's stop ends its shell job, noted once", async () => {
    await using main = await fakeOpenAI()
    await using worker = await fakeOpenAI()
    await using a = await workspace({ config: config(main, worker) })
    await using b = await workspace({ config: config(main, worker) })
    const env = { DROST_FAKE_KEY: "test-key", ...(await storeEnv(a)) }
    await using first = await spawnGateway(a.path, { env })
    const work = await busy(first, main, worker)

    // The second gateway's start-up recovery runs before its ready line; its clean stop ends only its own.
    await using second = await spawnGateway(b.path, { env })
    expect((await jobs(second)).map((job) => job.status)).toEqual(["running", "running"])
    expect(await second.stop()).toBe(0)
    expect((await jobs(first)).map((job) => job.status)).toEqual(["running", "running"])
    expect(await endings(b)).toEqual([])

    expect(await first.stop()).toBe(0)
    await using third = await spawnGateway(b.path, { env })
    const after = await jobs(third)
    const shell = after.find((job) => job.kind === "shell")!
    expect(shell).toMatchObject({ status: "interrupted", error: "the gateway stopped while it ran" })
    // Published once, by its owner at its stop (in its event log where it gets there, see `stopLogged`).
    const published = (await endings(a)).filter((event) => event.jobId === shell.id).map((event) => event.status)
    expect(published).toEqual(stopLogged ? ["interrupted"] : [])
    // The subagent's turn drained with the others and ended it with its outcome.
    expect(after.find((job) => job.kind === "agent")!).toMatchObject({
      status: "interrupted",
      error: "shutdown: the gateway stopped before the turn finished",
    })
    for (const job of work.jobs) expect(await notes(third, work.session, job.id)).toHaveLength(1)
    expect(await endings(b)).toEqual([])
    expect(await third.stop()).toBe(0)
  }, 40_000)

  test("a gateway killed with -9: the survivor's sweep ends its jobs, each published and noted once", async () => {
    await using main = await fakeOpenAI()
    await using worker = await fakeOpenAI()
    // Every gateway on one store uses the same heartbeat; short here so the sweep comes soon.
    await using a = await workspace({ config: config(main, worker, 300) })
    await using b = await workspace({ config: config(main, worker, 300) })
    const env = { DROST_FAKE_KEY: "test-key", ...(await storeEnv(a)) }
    await using first = await spawnGateway(a.path, { env })
    await using second = await spawnGateway(b.path, { env })
    const work = await busy(first, main, worker)
    await first.kill9()

    // Same host, its pid gone: the survivor's sweep takes them at once (no wait for a stale heartbeat).
    const ended = await until("the survivor to end both jobs", async () => {
      const seen = await endings(b)
      return seen.length >= 2 ? seen : undefined
    })
    await Bun.sleep(900) // three more sweeps: none ends them again
    expect(await endings(b)).toHaveLength(2)
    expect(ended.map((event) => event.status)).toEqual(["interrupted", "interrupted"])
    expect(ended.map((event) => event.jobId).sort()).toEqual(work.jobs.map((job) => job.id).sort())
    for (const job of await jobs(second)) {
      expect(job.status).toBe("interrupted")
      expect(job.error).toContain("the gateway stopped (crash or kill) while it ran")
    }
    for (const job of work.jobs) {
      const noted = await notes(second, work.session, job.id)
      expect(noted).toHaveLength(1)
      expect(noted[0]).toContain("was interrupted")
    }
    expect(await second.stop()).toBe(0)
  }, 40_000)
})
