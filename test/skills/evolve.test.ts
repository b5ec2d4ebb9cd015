/**
 * The model changes skills only through `evolve` (issue 18 item 1, the trust rule): with `skills` in
 * evolution.mutableRoots, a model's evolve call that writes a broken SKILL.md fails the skills gate
 * with the format's reasons and leaves nothing behind; a valid one is committed and the next turn's
 * prompt lists the new skill. file.write to the same path is refused, naming evolve.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { reply } from "../fake/openai.ts"
import { type InProcess, inProcess, wire } from "../tool/lib.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

let ws: Workspace
let drost: InProcess

beforeAll(async () => {
  ws = await workspace()
  drost = await inProcess(ws.path, {
    evolution: { enabled: true, mutableRoots: ["skills"], validation: { commands: [] } },
  })
})
afterAll(async () => {
  await drost?.[Symbol.asyncDispose]()
  await ws?.[Symbol.asyncDispose]()
})

async function turn(calls: [string, unknown][]) {
  const { llm, gw, sessionId } = drost
  llm.queue(...calls.map(([name, args]) => reply().tool(wire(name), args)), reply().text("ok"))
  const before = llm.hits.length
  const result = await (await gw.sessions.prompt({ sessionId, text: "go" })).done
  expect(result.status).toBe("completed")
  const requests = llm.hits.slice(before).filter((hit) => hit.path.endsWith("/chat/completions"))
  const system = requests[0]!.body.messages[0].content as string
  const outputs = requests
    .slice(1)
    .map((request) => request.body.messages.filter((message: { role: string }) => message.role === "tool").at(-1))
    .map((message: { content: string }) => message.content)
  return { system, outputs }
}

test("a skill written by the model goes through evolve's skills gate; file.write is refused", async () => {
  const path = "skills/daily-standup/SKILL.md"
  const good =
    "---\nname: daily-standup\ndescription: Runs the daily standup. Use each morning.\n---\n\nAsk three questions.\n"
  const { outputs } = await turn([
    ["file.write", { path, content: good }],
    ["evolve", { reason: "add a broken skill", changes: [{ path, content: "---\nname: Daily Standup\n---\n" }] }],
    ["evolve", { reason: "add the standup skill", changes: [{ path, content: good }] }],
  ])
  expect(outputs[0]).toContain("loaded code")
  expect(outputs[0]).toContain("evolve")
  expect(outputs[1]).toContain("gate:skills")
  expect(outputs[1]).toContain("may hold only lowercase letters")
  expect(outputs[1]).toContain("description is missing")
  expect(outputs[2]).not.toContain("gate:skills failed")
  expect(existsSync(ws.file(path))).toBe(true)
  const next = await turn([])
  expect(next.system).toContain("- daily-standup: Runs the daily standup. Use each morning.")
  const audit = drost.gw.evolution.list()
  // The audit keeps both: the rolled-back attempt and the applied change.
  expect(audit.map((record) => record.status).sort()).toEqual(["applied", "rolled_back"])
}, 30_000)
