/**
 * Background jobs across a kill -9: a subagent (its model hangs) and a background shell command are
 * running when the gateway is killed. After the restart both are `interrupted` in the store and the
 * Control API, the parent session holds a note for each, the notes reach the parent's Telegram chat
 * once the channel is up, and the command's sandbox died with the gateway.
 */
import { expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { fakeProfile } from "../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const OWNER = 111

interface Job {
  id: string
  kind: string
  status: string
  sessionId: string
  pid: number | null
  error: string | null
}

const jobs = async (gw: RunningGateway) => ((await (await gw.api("/jobs")).json()) as { jobs: Job[] }).jobs

/** A supervised gateway runs in a child process: kill whatever still holds the workspace lock, too. */
async function killHolder(pidFile: string) {
  const file = Bun.file(pidFile)
  if (!(await file.exists())) return
  const { pid } = JSON.parse(await file.text()) as { pid: number }
  while (alive(pid)) {
    process.kill(pid, "SIGKILL")
    await Bun.sleep(20)
  }
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test("kill -9 with a subagent and a background command running: after the restart both are interrupted, noted in the parent session and its chat", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  const tg = await FakeTelegram.start()
  await using ws = await workspace({
    config: {
      providers: { profiles: [fakeProfile("main", main.baseUrl), fakeProfile("worker", worker.baseUrl)] },
      controlApi: { port: 0 },
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
    },
  })
  const env = { DROST_FAKE_KEY: "test-key" }
  let running: Job[]
  {
    await using gw = await spawnGateway(ws.path, { env })
    worker.always(reply().hang())
    main.queue(
      reply()
        .tool("agent.spawn", { task: "Summarise the logs", provider: "worker" })
        .tool("shell", { command: "sleep 120", background: true }),
      reply().text("Both are running."),
    )
    tg.text(OWNER, "start both")
    await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.includes("Both are running.")), 15_000, "the answer")
    await worker.wait(1)
    running = await jobs(gw)
    expect(running.map((job) => [job.kind, job.status]).sort()).toEqual([
      ["agent", "running"],
      ["shell", "running"],
    ])
    await gw.kill9()
    await killHolder(ws.file(".drost/gateway.pid"))
  }
  const shellPid = running.find((job) => job.kind === "shell")!.pid!
  // bwrap runs with --die-with-parent: the command's sandbox went with the gateway.
  for (let tries = 0; alive(shellPid) && tries < 100; tries++) await Bun.sleep(20)
  expect(alive(shellPid)).toBe(false)

  worker.always(null)
  await using gw = await spawnGateway(ws.path, { env })
  const after = await jobs(gw)
  for (const job of running) {
    const now = after.find((each) => each.id === job.id)!
    expect(now.status).toBe("interrupted")
    expect(now.error).toContain("the gateway stopped (crash or kill) while it ran")
  }
  const parent = running[0]!.sessionId
  const stored = (
    (await (await gw.api(`/sessions/${parent}?limit=100`)).json()) as {
      messages: { role: string; parts: { text?: string }[] }[]
    }
  ).messages
  const notes = stored.filter((m) => m.role === "system").map((m) => m.parts.map((p) => p.text).join(""))
  for (const job of running)
    expect(notes.some((note) => note.includes(job.id) && note.includes("was interrupted"))).toBe(true)
  // The notes were stored before the channel was up; they reach the chat once it registers.
  for (const job of running)
    await tg.waitFor(
      () => tg.chat(OWNER).find((m) => m.text.includes(job.id) && m.text.includes("was interrupted")),
      10_000,
      `the notice of ${job.id}`,
    )

  // A graceful stop with a command running: it ends interrupted, noted once (by the next start's recovery).
  main.queue(reply().tool("shell", { command: "sleep 120", background: true }), reply().text("Sleeping again."))
  tg.text(OWNER, "once more")
  await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.includes("Sleeping again.")), 15_000, "the answer")
  const again = (await jobs(gw)).find((job) => job.status === "running")!
  expect(await gw.stop()).toBe(0)
  {
    await using third = await spawnGateway(ws.path, { env })
    const stopped = (await jobs(third)).find((job) => job.id === again.id)!
    expect(stopped.status).toBe("interrupted")
    expect(stopped.error).toBe("the gateway stopped while it ran")
    const stored = (
      (await (await third.api(`/sessions/${parent}?limit=100`)).json()) as {
        messages: { role: string; parts: { text?: string }[] }[]
      }
    ).messages
    const note = stored.filter((m) => m.role === "system").map((m) => m.parts.map((p) => p.text).join(""))
    expect(note.filter((text) => text.includes(again.id))).toHaveLength(1)
    expect(await third.stop()).toBe(0)
  }
  // Each ending was also published once on the bus (events.jsonl keeps the stream).
  const endings = (await Bun.file(ws.file(".drost/logs/events.jsonl")).text())
    .split("\n")
    .filter((line) => line.includes('"job.ended"'))
    .map((line) => JSON.parse(line).data as { jobId: string; status: string })
  expect(endings.map((event) => event.jobId).sort()).toEqual([...running.map((job) => job.id), again.id].sort())
  expect(endings.every((event) => event.status === "interrupted")).toBe(true)
  tg.stop()
}, 60_000)
