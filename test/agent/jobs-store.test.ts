/**
 * The job service (src/agent/jobs.ts) on the store contract, on both engines: several gateways' job
 * services on one store, each over its own handle with its own owner, as the gateways on one SQLite file
 * or one PostgreSQL database are. A peer's running jobs are left alone while it is registered; once it
 * is gone (its registry row removed, as a peer's prune or its own clean stop leaves it) the gateways that
 * recover at the same time end each of its jobs once, publish each ending once and note it once in the
 * parent session, endings it had stored but not noted included. `{ owner }` takes one gateway's own
 * only. At stop a shell job ends interrupted, published at once, and is noted by the next recovery; a
 * cancel, the reads and the shell output go through the store too.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createJobs, type Jobs } from "../../src/agent/jobs.ts"
import { JobEvent } from "../../src/agent/job-events.ts"
import { createSessions, type Sessions } from "../../src/agent/session.ts"
import { createBus } from "../../src/bus/bus.ts"
import { JOBS_DEFAULTS } from "../../src/core/jobs-config.ts"
import type { Provider, StreamEvent } from "../../src/core/provider.ts"
import type { Store } from "../../src/store/engine/contract.ts"
import { openPostgres } from "../../src/store/engine/postgres.ts"
import { openSqlite } from "../../src/store/engine/sqlite.ts"
import { createToolRegistry } from "../../src/tool/registry.ts"
import { Log } from "../../src/util/log.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"

/** Answers "done", or with `hang` holds every answer until the turn is aborted. */
function provider(hang: boolean): Provider {
  return {
    id: "worker",
    kind: "demo",
    model: "worker-1",
    async *stream(_request, signal): AsyncGenerator<StreamEvent> {
      if (hang)
        await new Promise<void>((_, reject) =>
          signal.addEventListener("abort", () => reject(new Error(String(signal.reason))), { once: true }),
        )
      yield { type: "text", delta: "done" }
      yield { type: "done", stop: "stop" }
    },
  }
}

interface Node {
  id: string
  data: Store
  jobs: Jobs
  sessions: Sessions
  /** Every job.ended this gateway published. */
  endings: { jobId: string; status: string }[]
  stop(): Promise<void>
}

/** One gateway's job service over its own handle on the store (`open` with its id as the owner). */
async function gateway(open: (owner: string) => Promise<Store>, id: string, hang = true): Promise<Node> {
  const data = await open(id)
  await data.gateways.register(id)
  const bus = createBus({ startId: 1 })
  const root = mkdtempSync(join(tmpdir(), "drost-jobs-store-"))
  const worker = provider(hang)
  const sessions = createSessions({
    data,
    bus,
    tools: createToolRegistry({ timeoutMs: 1000, outputLimit: 200, log: Log.create("test") }),
    providers: () => new Map([[worker.id, worker]]),
    defaultProvider: () => worker.id,
    systemPrompt: async () => "test",
    limits: () => ({ maxSteps: 4, maxToolCalls: 4, turnTimeoutMs: 30_000 }),
    workspace: { root, tools: join(root, "tools"), memory: join(root, "memory"), prompts: join(root, "prompts") },
    log: Log.create("test"),
  })
  const jobs = createJobs({
    jobs: data.jobs,
    store: data.sessions,
    sessions: () => sessions,
    bus,
    limits: () => JOBS_DEFAULTS,
    deliver: async () => false,
    outputDir: join(root, "jobs"),
    log: Log.create("test"),
  })
  const endings: Node["endings"] = []
  bus.subscribe(JobEvent.Ended, (event) => void endings.push({ jobId: event.data.jobId, status: event.data.status }))
  let stopped = false
  return {
    id,
    data,
    jobs,
    sessions,
    endings,
    async stop() {
      if (stopped) return
      stopped = true
      await sessions.drain(200)
      await jobs.stop()
      // The drained subagents' endings and notes are written after their turns end: let them land first.
      await until(
        "its endings to be stored and noted",
        async () => {
          const left = [...(await data.jobs.running({ owner: id })), ...(await data.jobs.unnotified())]
          return left.length === 0
        },
        2_000,
      ).catch(() => {})
      await data.gateways.remove(id).catch(() => {})
      await data.close()
    },
  }
}

/** A background `sleep` as the shell tool hands it over (unwrapped: no sandbox needed here). */
const sleep = (sessionId: string, cwd: string) => ({
  sessionId,
  command: "sleep 30",
  cwd,
  wrapped: { argv: ["sleep", "30"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, cleanup() {} },
  after: () => [],
})

/** The parent session's notes (system messages) that name `jobId`. */
async function notes(data: Store, sessionId: string, jobId: string): Promise<string[]> {
  const messages = await data.sessions.history(sessionId)
  return messages
    .filter((message) => message.role === "system")
    .map((message) => message.parts.map((part) => ("text" in part ? part.text : "")).join(""))
    .filter((text) => text.includes(jobId))
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}

const STALE_MS = 60_000
const engines: { name: string; store: () => Promise<(owner: string) => Promise<Store>> }[] = [
  {
    name: "sqlite",
    store: async () => {
      const file = join(mkdtempSync(join(tmpdir(), "drost-jobs-store-")), "drost.db")
      return async (owner) => openSqlite(file, { owner })
    },
  },
]
const skip = postgresSkip()
if (!skip) {
  const pg = postgresPerFile()
  engines.push({
    name: "postgres",
    store: async () => {
      const url = await pg.server.database()
      return async (owner) => openPostgres(url, { owner, max: 4 })
    },
  })
} else test.skip(`the job service on PostgreSQL (skipped: ${skip})`, () => {})

describe.each(engines)("the job service on $name", ({ store }) => {
  test("a gone gateway's jobs: left alone while it is registered, then ended, published and noted once by the gateways recovering at once", async () => {
    const open = await store()
    const a = await gateway(open, "gw_a")
    const b = await gateway(open, "gw_b")
    const c = await gateway(open, "gw_c")
    try {
      const parent = await a.sessions.create({})
      const agent = await a.jobs.spawn({ sessionId: parent.id, task: "Summarise the logs" })
      const shell = await a.jobs.shell.start(sleep(parent.id, tmpdir()))
      // An ending A stored but did not note before it went (a crash between the two writes).
      const orphan = await a.data.jobs.create({ kind: "agent", sessionId: parent.id, title: "an earlier task" })
      expect(await a.data.jobs.finish(orphan.id, { status: "completed", result: "the answer" })).toBe(true)
      expect((await b.jobs.get(agent.id)).status).toBe("running")
      expect(await b.jobs.list(parent.id)).toHaveLength(3)

      const scope = (self: string) => ({ gone: { self, staleMs: STALE_MS } })
      // A is registered, beating and its pid alive: nothing of its is taken.
      expect(await b.jobs.recover(scope(b.id))).toEqual([])
      expect(await b.data.jobs.running()).toHaveLength(2)
      expect(await notes(b.data, parent.id, orphan.id)).toEqual([])

      // A leaves the registry (pruned as gone): B and C recover at the same time.
      await a.data.gateways.remove(a.id)
      const [byB, byC] = await Promise.all([b.jobs.recover(scope(b.id)), c.jobs.recover(scope(c.id))])
      const lost = [...byB, ...byC]
      expect(lost.map((job) => job.id).sort()).toEqual([agent.id, shell.id].sort())
      for (const job of lost) expect(job.why).toBe("gateway gw_a is not registered")
      for (const id of [agent.id, shell.id])
        expect(await c.jobs.get(id)).toMatchObject({
          status: "interrupted",
          error: "the gateway stopped (crash or kill) while it ran",
        })
      const published = [...b.endings, ...c.endings]
      expect(published.map((event) => event.jobId).sort()).toEqual([agent.id, shell.id].sort())
      expect(published.every((event) => event.status === "interrupted")).toBe(true)
      for (const id of [agent.id, shell.id]) {
        const noted = await notes(b.data, parent.id, id)
        expect(noted).toHaveLength(1)
        expect(noted[0]).toContain("was interrupted")
      }
      const earlier = await notes(b.data, parent.id, orphan.id)
      expect(earlier).toHaveLength(1)
      expect(earlier[0]).toContain("the answer")
      expect((await b.data.jobs.unnotified()).map((job) => job.id)).toEqual([])
      // Taken over: a later sweep by either finds nothing more.
      expect(await b.jobs.recover(scope(b.id))).toEqual([])
      expect(await c.jobs.recover(scope(c.id))).toEqual([])
      expect(await notes(b.data, parent.id, agent.id)).toHaveLength(1)
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()])
    }
  }, 30_000)

  test("`{ owner }` ends only that gateway's own running jobs", async () => {
    const open = await store()
    const a = await gateway(open, "gw_a")
    const b = await gateway(open, "gw_b")
    try {
      const parent = await a.sessions.create({})
      const mine = await a.jobs.spawn({ sessionId: parent.id, task: "mine" })
      const theirs = await b.jobs.spawn({ sessionId: parent.id, task: "theirs" })
      const lost = await a.jobs.recover({ owner: a.id })
      expect(lost.map((job) => [job.id, job.why])).toEqual([[mine.id, null]])
      expect((await a.jobs.get(mine.id)).status).toBe("interrupted")
      expect((await a.jobs.get(theirs.id)).status).toBe("running")
      expect(a.endings.map((event) => event.jobId)).toEqual([mine.id])
      expect(await notes(a.data, parent.id, mine.id)).toHaveLength(1)
      expect(await notes(a.data, parent.id, theirs.id)).toEqual([])
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  }, 30_000)

  test("a subagent's answer, a cancel, a shell job's output and its ending at stop go through the store", async () => {
    const open = await store()
    const done = await gateway(open, "gw_done", false)
    const a = await gateway(open, "gw_a")
    try {
      const parent = await done.sessions.create({})
      const finished = await done.jobs.spawn({ sessionId: parent.id, task: "answer" })
      await until("the subagent's answer", async () => (await done.jobs.get(finished.id)).status === "completed")
      expect((await done.jobs.get(finished.id)).result).toBe("done")
      await until("its note", async () => (await notes(done.data, parent.id, finished.id)).length === 1)
      expect(done.endings).toEqual([{ jobId: finished.id, status: "completed" }])

      const other = await a.sessions.create({})
      const hung = await a.jobs.spawn({ sessionId: other.id, task: "hang" })
      expect(a.jobs.counts()).toMatchObject({ running: 1, perSession: { [other.id]: 1 } })
      // Another gateway's session is not this one's to see through the session's tools.
      await expect(a.jobs.get(hung.id, parent.id)).rejects.toMatchObject({ code: "NotFound" })
      const cancelled = await a.jobs.cancel(hung.id, { by: "the test" })
      expect(cancelled).toMatchObject({ status: "cancelled", error: "cancelled by the test" })
      await expect(a.jobs.cancel(hung.id)).rejects.toMatchObject({ code: "Invalid" })
      await until("the cancel's note", async () => (await notes(a.data, other.id, hung.id)).length === 1)

      const shell = await a.jobs.shell.start(sleep(other.id, tmpdir()))
      const running = await a.jobs.get(shell.id)
      expect(running.pid).toBeGreaterThan(0)
      expect(await a.jobs.output(shell.id)).toMatchObject({ text: "", size: 0 })
      await expect(a.jobs.output(hung.id)).rejects.toMatchObject({ code: "Invalid" })
      // At stop: published before stop() returns (the gateway's sinks close right after), then stored.
      const stopping = a.jobs.stop()
      expect(a.endings.at(-1)).toEqual({ jobId: shell.id, status: "interrupted" })
      await stopping
      expect(await done.jobs.get(shell.id)).toMatchObject({
        status: "interrupted",
        error: "the gateway stopped while it ran",
      })
      // Its note is the next recovery's, once the stopped gateway has left the registry: written once.
      expect(await notes(done.data, other.id, shell.id)).toEqual([])
      expect(await done.jobs.recover({ gone: { self: done.id, staleMs: STALE_MS } })).toEqual([])
      expect(await notes(done.data, other.id, shell.id)).toEqual([])
      await a.data.gateways.remove(a.id)
      expect(await done.jobs.recover({ gone: { self: done.id, staleMs: STALE_MS } })).toEqual([])
      const noted = await notes(done.data, other.id, shell.id)
      expect(noted).toHaveLength(1)
      expect(noted[0]).toContain("was interrupted: the gateway stopped while it ran")
      // The killed process's own exit changes nothing after that.
      await until("the process to exit", async () => {
        try {
          process.kill(running.pid!, 0)
          return false
        } catch {
          return true
        }
      })
      await Bun.sleep(50)
      expect(a.endings.filter((event) => event.jobId === shell.id)).toHaveLength(1)
      expect((await done.jobs.get(shell.id)).error).toBe("the gateway stopped while it ran")
      await expect(a.jobs.spawn({ sessionId: other.id, task: "late" })).rejects.toMatchObject({ code: "Busy" })
    } finally {
      await Promise.all([done.stop(), a.stop()])
    }
  }, 30_000)
})
