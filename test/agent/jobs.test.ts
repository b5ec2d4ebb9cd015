/**
 * Subagents through the real gateway: the parent's model (one fake OpenAI server) calls agent.spawn
 * with the provider "worker" (a second fake server), so which requests are the child's is certain. The
 * child runs in its own session while the parent chat keeps answering; its answer lands in the parent
 * session as a note and in the fake Telegram chat; a cancel through the Control API ends a hung child;
 * the limits refuse a job over jobs.maxPerSession with an error that names the key.
 */
import { expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { FAKE_KEY_ENV, fakeProfile } from "../lib/config.ts"
import { type RunningGateway, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const OWNER = 111

interface Job {
  id: string
  kind: string
  status: string
  title: string
  sessionId: string
  childSessionId: string | null
  provider: string | null
  result: string | null
  error: string | null
}
interface Stored {
  role: string
  parts: { type: string; text?: string; output?: string; name?: string }[]
}

const jobs = async (gw: RunningGateway) =>
  (await (await gw.api("/jobs")).json()) as { jobs: Job[]; running: number; maxPerSession: number }
const messages = async (gw: RunningGateway, id: string) =>
  ((await (await gw.api(`/sessions/${id}?limit=200`)).json()) as { messages: Stored[] }).messages
const text = (message: Stored) => message.parts.map((part) => part.text ?? part.output ?? "").join("")

/** Waits on the gateway's answers (no fixed sleeps): polls until `check` holds. */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

test("agent.spawn: the child runs in its own session on its own provider while the parent chat stays free; its answer reaches the parent session and the Telegram chat; a cancel ends a hung child; the limit refuses a second job", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  const tg = await FakeTelegram.start()
  await using ws = await workspace({
    config: {
      providers: { profiles: [fakeProfile("main", main.baseUrl), fakeProfile("worker", worker.baseUrl)] },
      controlApi: { port: 0 },
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
      jobs: { maxPerSession: 1 },
    },
  })
  await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })

  // 1. The parent spawns a child whose model hangs: the parent's turn ends at once.
  worker.queue(reply().hang())
  main.queue(
    reply().tool("agent.spawn", { task: "Count the planets in the notes", provider: "worker" }),
    reply().text("A subagent is on it."),
  )
  tg.text(OWNER, "research the planets please")
  await tg.waitFor(
    () => tg.chat(OWNER).find((m) => m.text.includes("A subagent is on it.")),
    15_000,
    "the parent's answer",
  )
  const first = await until("the running job", async () =>
    (await jobs(gw)).jobs.find((job) => job.status === "running"),
  )
  expect(first.kind).toBe("agent")
  expect(first.provider).toBe("worker")
  expect(first.childSessionId).not.toBe(first.sessionId)
  await worker.wait(1)
  // The child's request went to the worker with the task as its user message, in a session of its own.
  expect(JSON.stringify(worker.requests("chat")[0]!.body.messages)).toContain("Count the planets in the notes")
  expect((await jobs(gw)).running).toBe(1)
  // Visible in the chat's /status and in `drost status`.
  tg.text(OWNER, "/status")
  await tg.waitFor(
    () =>
      tg.chat(OWNER).find((m) => m.text.includes("background jobs: 1 running (this session 1; limits 1 per session")),
    10_000,
    "/status with the job",
  )
  const cli = await runCli(["status", "--url", gw.url], { cwd: ws.path })
  expect(`${cli.stdout}${cli.stderr}`).toContain("background jobs 1 (limits 1 per session, 8 in all)")

  // 2. While the child works, the parent chat answers (its lane is free), and a second job is refused.
  main.queue(reply().tool("agent.spawn", { task: "another one" }), reply().text("Still here."))
  tg.text(OWNER, "are you there?")
  await tg.waitFor(
    () => tg.chat(OWNER).find((m) => m.text.includes("Still here.")),
    15_000,
    "the parent's second answer",
  )
  const parent = await messages(gw, first.sessionId)
  const refused = parent
    .flatMap((m) => m.parts)
    .find((part) => part.name === "agent.spawn" && part.output?.includes("jobs.maxPerSession"))
  expect(refused?.output).toContain("already has 1 background jobs running (jobs.maxPerSession 1)")

  // 3. Cancel through the Control API: the hung child's turn is aborted, the parent is told.
  const cancelled = await gw.api(`/jobs/${first.id}`, { method: "DELETE" })
  expect(cancelled.status).toBe(200)
  expect(((await cancelled.json()) as Job).status).toBe("cancelled")
  await tg.waitFor(
    () => tg.chat(OWNER).find((m) => m.text.includes(`${first.id}`) && m.text.includes("was cancelled")),
    10_000,
    "the cancel notice",
  )
  expect((await gw.api(`/jobs/${first.id}`, { method: "DELETE" })).status).toBe(409)

  // 4. A child that finishes: its answer lands in the parent session (a system note) and the chat.
  worker.queue(reply().text("There are 8 planets."))
  main.queue(
    reply().tool("agent.spawn", { task: "Count the planets again", provider: "worker" }),
    reply().text("Started."),
  )
  tg.text(OWNER, "once more")
  const done = await until("the second job to complete", async () =>
    (await jobs(gw)).jobs.find((job) => job.title === "Count the planets again" && job.status === "completed"),
  )
  expect(done.result).toBe("There are 8 planets.")
  await tg.waitFor(
    () => tg.chat(OWNER).find((m) => m.text.includes(done.id) && m.text.includes("There are 8 planets.")),
    10_000,
    "the result in the chat",
  )
  const notes = (await messages(gw, done.sessionId)).filter((m) => m.role === "system").map(text)
  expect(notes.some((note) => note.includes(done.id) && note.includes("There are 8 planets."))).toBe(true)
  // The child's session holds the task and its answer; the parent's holds neither as its own turn.
  const child = await messages(gw, done.childSessionId!)
  expect(child.map((m) => m.role)).toEqual(["user", "assistant"])
  // The next parent turn sends the note to the model.
  main.queue(reply().text("Eight, as the subagent found."))
  tg.text(OWNER, "so?")
  await tg.waitFor(
    () => tg.chat(OWNER).find((m) => m.text.includes("Eight, as the subagent found.")),
    15_000,
    "the answer",
  )
  expect(JSON.stringify(main.requests("chat").at(-1)!.body.messages)).toContain("There are 8 planets.")

  // /status shows the counts against the limits.
  const status = (await (await gw.api("/status")).json()) as { jobs: { running: number; maxPerSession: number } }
  expect(status.jobs).toMatchObject({ running: 0, maxPerSession: 1 })
  expect(await gw.stop()).toBe(0)
  tg.stop()
}, 60_000)

test("a subagent's call under tools.approve asks in the chat of the session that started it", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  const tg = await FakeTelegram.start()
  await using ws = await workspace({
    config: {
      providers: { profiles: [fakeProfile("main", main.baseUrl), fakeProfile("worker", worker.baseUrl)] },
      controlApi: { port: 0 },
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
      tools: { approve: ["file.read"] },
    },
    files: { "notes.txt": "the secret word is marmalade\n" },
  })
  await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
  worker.queue(reply().tool("file.read", { path: "notes.txt" }), reply().text("The word is marmalade."))
  main.queue(
    reply().tool("agent.spawn", { task: "Read notes.txt", provider: "worker" }),
    reply().text("Asked a helper."),
  )
  tg.text(OWNER, "what is in notes.txt?")
  const asking = await tg.waitFor(
    () =>
      tg
        .chat(OWNER)
        .find((m) => m.markup?.inline_keyboard.flat().some((button) => button.callback_data?.startsWith("apr:"))),
    15_000,
    "the approval buttons in the parent's chat",
  )
  expect(asking.text).toContain("file.read")
  const approve = asking.markup!.inline_keyboard.flat().find((button) => button.text.includes("Approve"))!
  tg.press(OWNER, OWNER, asking.messageId, approve.callback_data!)
  await tg.waitFor(
    () => tg.chat(OWNER).find((m) => m.text.includes("finished") && m.text.includes("The word is marmalade.")),
    15_000,
    "the subagent's answer",
  )
  expect(await gw.stop()).toBe(0)
  tg.stop()
}, 60_000)
