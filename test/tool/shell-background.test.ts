/**
 * `shell` with `background: true` through the real gateway and the fake OpenAI: the call returns a job
 * id at once, the command runs on in the OS sandbox with its output in a file the model reads only
 * through shell.output (file.read of the state folder stays refused), the session gets a notice when it
 * exits (code 0, or the failing code with the output's end), and shell.kill stops a long one.
 */
import { expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

interface Job {
  id: string
  status: string
  exitCode: number | null
  error: string | null
}
interface Stored {
  role: string
  parts: { type: string; text?: string; output?: string; name?: string; isError?: boolean }[]
}

const job = async (gw: RunningGateway, id: string) => (await (await gw.api(`/jobs/${id}`)).json()) as Job
const messages = async (gw: RunningGateway, id: string) =>
  ((await (await gw.api(`/sessions/${id}?limit=200`)).json()) as { messages: Stored[] }).messages
const results = (stored: Stored[], name: string) =>
  stored.flatMap((m) => m.parts).filter((part) => part.type === "tool-result" && part.name === name)
const notes = async (gw: RunningGateway, id: string) =>
  (await messages(gw, id)).filter((m) => m.role === "system").map((m) => m.parts.map((p) => p.text).join(""))

async function ended(gw: RunningGateway, id: string): Promise<Job> {
  for (;;) {
    const current = await job(gw, id)
    if (current.status !== "running") return current
    await Bun.sleep(30)
  }
}

test("shell background: a job id at once, output in a file read through shell.output, a notice at exit, shell.kill", async () => {
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: {
      providers: {
        profiles: [
          {
            id: "llm",
            kind: "openai",
            api: "chat",
            model: "gpt-test",
            baseUrl: llm.baseUrl,
            apiKeyEnv: "DROST_FAKE_KEY",
          },
        ],
      },
      controlApi: { port: 0 },
    },
  })
  await using gw = await spawnGateway(ws.path, { env: { DROST_FAKE_KEY: "test-key" } })
  const session = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const turn = async (input: string) =>
    (
      (await (await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input } })).json()) as {
        status: string
      }
    ).status

  // 1. Started in the background: the turn ends while the command still runs (it waits for a file).
  llm.queue(
    reply().tool("shell", {
      command: "echo started; while [ ! -e go ]; do sleep 0.05; done; echo finished; cat .drost/control-token || true",
      background: true,
    }),
    reply().text("It runs in the background."),
  )
  expect(await turn("build it in the background")).toBe("completed")
  const started = results(await messages(gw, session), "shell")[0]!
  expect(started.isError).toBe(false)
  const id = started.output!.match(/job_\w+/)![0]
  expect((await job(gw, id)).status).toBe("running")

  // 2. While it runs: shell.output shows what it wrote so far; file.read cannot reach the output file.
  llm.queue(
    reply()
      .tool("shell.output", { id })
      .tool("file.read", { path: `.drost/jobs/${id}.log` }),
    reply().text("Looked."),
  )
  for (;;) {
    const out = (await (await gw.api(`/jobs/${id}/output`)).json()) as { text: string }
    if (out.text.includes("started")) break
    await Bun.sleep(30)
  }
  expect(await turn("how far is it?")).toBe("completed")
  const stored = await messages(gw, session)
  const output = results(stored, "shell.output")[0]!
  expect(output.output).toContain("running; ")
  expect(output.output).toContain("started")
  expect(results(stored, "file.read")[0]!.isError).toBe(true)

  // 3. It exits: the session gets the notice with the output's end; the state folder was not readable.
  ws.write("go", "")
  const done = await ended(gw, id)
  expect(done).toMatchObject({ status: "completed", exitCode: 0 })
  const token = await Bun.file(ws.file(".drost/control-token")).text()
  const full = ((await (await gw.api(`/jobs/${id}/output`)).json()) as { text: string }).text
  expect(full).toContain("finished")
  expect(full).not.toContain(token.trim())
  const [notice] = await notes(gw, session)
  expect(notice).toContain(`shell job ${id}`)
  expect(notice).toContain("exited with code 0")
  expect(notice).toContain("finished")

  // 4. A failing command: failed with its exit code; a long one stopped by shell.kill: cancelled.
  llm.queue(
    reply()
      .tool("shell", { command: "echo oops >&2; exit 3", background: true })
      .tool("shell", { command: "sleep 60", background: true }),
    reply().text("Two more."),
  )
  expect(await turn("two more")).toBe("completed")
  const [failing, sleeping] = results(await messages(gw, session), "shell")
    .slice(1)
    .map((part) => part.output!.match(/job_\w+/)![0])
  expect(await ended(gw, failing!)).toMatchObject({ status: "failed", exitCode: 3, error: "exit code 3" })
  llm.queue(reply().tool("shell.kill", { id: sleeping }), reply().text("Stopped it."))
  expect(await turn("stop the sleeper")).toBe("completed")
  expect(results(await messages(gw, session), "shell.kill")[0]!.output).toContain(
    `killed background command ${sleeping}`,
  )
  expect((await ended(gw, sleeping!)).status).toBe("cancelled")
  const all = await notes(gw, session)
  expect(all.some((note) => note.includes(failing!) && note.includes("exit code 3") && note.includes("oops"))).toBe(
    true,
  )
  expect(all.some((note) => note.includes(sleeping!) && note.includes("was cancelled"))).toBe(true)

  // 5. Deleting the session stops its running commands (their rows go with it).
  const other = ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  llm.queue(reply().tool("shell", { command: "sleep 60", background: true }), reply().text("Sleeping."))
  await gw.api(`/sessions/${other}/turn`, { method: "POST", json: { input: "sleep" } })
  const orphan = ((await (await gw.api(`/jobs?session=${other}`)).json()) as { jobs: (Job & { pid: number })[] })
    .jobs[0]!
  expect(orphan.status).toBe("running")
  expect((await gw.api(`/sessions/${other}`, { method: "DELETE" })).status).toBeLessThan(300)
  expect((await gw.api(`/jobs/${orphan.id}`)).status).toBe(404)
  const alive = () => {
    try {
      process.kill(orphan.pid, 0)
      return true
    } catch {
      return false
    }
  }
  for (let tries = 0; alive() && tries < 100; tries++) await Bun.sleep(20)
  expect(alive()).toBe(false)
  expect(await gw.stop()).toBe(0)
}, 60_000)
