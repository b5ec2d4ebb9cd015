/**
 * The edges of background work, through the real gateway and the fake OpenAI (which refuses a history
 * whose tool calls and results do not pair up, as the real API does): a job's note never lands between
 * a step's tool calls and their results; a subagent's tool budget and deadline hold; a subagent cannot
 * start subagents; jobs.maxTotal counts every session; requests over the configured maxima are refused.
 */
import { expect, test } from "bun:test"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { fakeProfile } from "../lib/config.ts"
import { type RunningGateway, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

interface Job {
  id: string
  kind: string
  status: string
  title: string
  childSessionId: string | null
  error: string | null
}
interface Stored {
  role: string
  parts: { type: string; text?: string; output?: string; name?: string; isError?: boolean }[]
}

const jobs = async (gw: RunningGateway) => ((await (await gw.api("/jobs")).json()) as { jobs: Job[] }).jobs
const messages = async (gw: RunningGateway, id: string) =>
  ((await (await gw.api(`/sessions/${id}?limit=200`)).json()) as { messages: Stored[] }).messages
const outputs = (stored: Stored[], name: string) =>
  stored.flatMap((m) => m.parts).filter((part) => part.type === "tool-result" && part.name === name)

async function ended(gw: RunningGateway, title: string): Promise<Job> {
  for (;;) {
    const job = (await jobs(gw)).find((each) => each.title === title && each.status !== "running")
    if (job) return job
    await Bun.sleep(30)
  }
}

test("notes wait for the turn boundary; a subagent's budget and deadline hold; no nested subagents; maxTotal and the maxima refuse", async () => {
  await using main = await fakeOpenAI()
  await using worker = await fakeOpenAI()
  await using ws = await workspace({
    config: {
      providers: { profiles: [fakeProfile("main", main.baseUrl), fakeProfile("worker", worker.baseUrl)] },
      controlApi: { port: 0 },
      jobs: { maxTotal: 1, agentTimeoutMs: 60_000, agentMaxToolCalls: 5 },
    },
    files: { "a.txt": "alpha\n" },
  })
  await using gw = await spawnGateway(ws.path, { env: { DROST_FAKE_KEY: "test-key" } })
  const create = async () =>
    ((await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }).id
  const turn = async (session: string, input: string) =>
    (await (await gw.api(`/sessions/${session}/turn`, { method: "POST", json: { input } })).json()) as {
      status: string
      reason: string | null
    }
  const a = await create()
  const b = await create()

  // 1. A command that ends while the same step's other call still runs: its note waits for the turn to
  // end, so the next request's history still pairs every call with its result.
  main.queue(
    reply()
      .tool("shell", { command: "echo quick", background: true })
      .tool("shell", { command: "while [ ! -e .drost-free ]; do sleep 0.05; done; echo slow" }),
    reply().text("Both done."),
  )
  const first = turn(a, "two commands")
  const quick = await ended(gw, "echo quick")
  expect(quick.status).toBe("completed")
  ws.write(".drost-free", "")
  expect((await first).status).toBe("completed")
  const roles = (await messages(gw, a)).map((m) => m.role)
  expect(roles).toEqual(["user", "assistant", "tool", "assistant", "system"])
  main.queue(reply().text("Noted."))
  expect(await turn(a, "and now?")).toMatchObject({ status: "completed" })
  expect(JSON.stringify(main.requests("chat").at(-1)!.body.messages)).toContain("exited with code 0")

  // 2. Over the maxima: refused with the key named.
  main.queue(
    reply()
      .tool("agent.spawn", { task: "too long", deadlineMs: 120_000 })
      .tool("agent.spawn", { task: "too many tools", maxToolCalls: 6 }),
    reply().text("Refused."),
  )
  await turn(a, "over the maxima")
  const refused = outputs(await messages(gw, a), "agent.spawn").map((part) => part.output)
  expect(refused[0]).toContain("deadlineMs 120000 is over jobs.agentTimeoutMs (60000)")
  expect(refused[1]).toContain("maxToolCalls 6 is over jobs.agentMaxToolCalls (5)")

  // 3. A subagent with a budget of one tool call tries to start a subagent (refused), then calls a
  // second tool: refused by the budget.
  worker.queue(
    reply().tool("agent.spawn", { task: "nested" }),
    reply().tool("file.read", { path: "a.txt" }),
    reply().text("Budget used."),
  )
  main.queue(
    reply().tool("agent.spawn", { task: "budgeted", provider: "worker", maxToolCalls: 1 }),
    reply().text("Ok."),
  )
  await turn(a, "budgeted child")
  const budgeted = await ended(gw, "budgeted")
  expect(budgeted.status).toBe("completed")
  const child = await messages(gw, budgeted.childSessionId!)
  const [nested, read] = child.flatMap((m) => m.parts).filter((part) => part.type === "tool-result")
  expect(nested!.output).toContain("a subagent cannot start subagents of its own")
  expect(read!.output).toContain("tool-call budget of 1 per turn is used up")

  // 4. jobs.maxTotal 1: a running subagent of session a blocks a job of session b.
  worker.queue(reply().hang())
  main.queue(reply().tool("agent.spawn", { task: "hangs", provider: "worker", deadlineMs: 1_000 }), reply().text("Ok."))
  await turn(a, "a hanging child")
  main.queue(reply().tool("shell", { command: "true", background: true }), reply().text("Refused."))
  await turn(b, "a job in another session")
  expect(outputs(await messages(gw, b), "shell")[0]!.output).toContain("(jobs.maxTotal 1)")

  // 5. The deadline ends the hung child: failed, with the reason.
  const hung = await ended(gw, "hangs")
  expect(hung.status).toBe("failed")
  expect(hung.error).toContain("deadline: the subagent did not finish within 1000 ms")
  expect(await gw.stop()).toBe(0)
}, 60_000)

test("the jobs limits are validated at start: a wrong value or an unknown key names its path", async () => {
  for (const [jobs, line] of [
    [{ maxPerSession: 0 }, "jobs.maxPerSession: expected integer to be greater or equal to 1, got number 0"],
    [{ maxTotal: "many" }, "jobs.maxTotal: expected integer"],
    [{ maxJobs: 3 }, "jobs.maxJobs"],
  ] as const) {
    await using ws = await workspace({ config: { jobs } })
    const result = await runCli(["start"], { cwd: ws.path })
    expect(result.code).toBe(78)
    expect(result.stderr).toContain(line)
  }
})
