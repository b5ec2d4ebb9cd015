/**
 * Compatibility, measured (issue 18 item 2): the skills in test/fixtures/skills, written in the public
 * Agent Skills format (YAML front matter, scripts/, references/, assets/; folded and quoted
 * descriptions, allowed-tools as a string and as a list, metadata, license, compatibility, a CRLF file,
 * a field only another agent defines), all load in a real gateway with 0 rejections. Then a turn of a
 * model (the fake OpenAI server) that needs one: it sees the skill's name and description in the system
 * prompt, calls skill.load, reads a reference with skill.read, runs the bundled script through the
 * sandboxed shell tool, and the script's output comes back to it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { cpSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { reply } from "../fake/openai.ts"
import { type InProcess, inProcess, wire } from "../tool/lib.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

const FIXTURES = join(import.meta.dir, "../fixtures/skills")
const NAMES = readdirSync(FIXTURES).sort()

let ws: Workspace
let drost: InProcess

beforeAll(async () => {
  ws = await workspace({
    files: { "data/sales.csv": "region,units,revenue\nnorth,3,30.5\nsouth,4,40\neast,5,12.25\n" },
  })
  cpSync(FIXTURES, ws.file("skills"), { recursive: true })
  drost = await inProcess(ws.path)
})
afterAll(async () => {
  await drost?.[Symbol.asyncDispose]()
  await ws?.[Symbol.asyncDispose]()
})

/** The text of every message of a recorded chat request. */
const messages = (body: { messages: { role: string; content: unknown }[] }) =>
  body.messages.map((message) => ({
    role: message.role,
    text: typeof message.content === "string" ? message.content : JSON.stringify(message.content),
  }))

test("at least 10 skills in the public format load with 0 rejections", () => {
  expect(NAMES.length).toBeGreaterThanOrEqual(10)
  const snapshot = drost.gw.skills.refresh(true)
  expect(snapshot.rejected).toEqual([])
  expect(snapshot.skills.map((skill) => skill.name).sort()).toEqual(NAMES)
  // Between them they bundle scripts, references and assets.
  for (const kind of ["scripts", "references", "assets"])
    expect(NAMES.some((name) => readdirSync(join(FIXTURES, name)).includes(kind))).toBe(true)
  // Fields of the format are read; a field only another agent defines is a warning, not a rejection.
  const word = snapshot.skills.find((skill) => skill.name === "word-count")!
  expect(word.allowedTools).toEqual(["Bash(wc:*)", "Read"])
  const commit = snapshot.skills.find((skill) => skill.name === "git-commit-message")!
  expect(commit.allowedTools).toEqual(["Bash(git diff:*)", "Bash(git log:*)", "Read"])
  const pdf = snapshot.skills.find((skill) => skill.name === "pdf-forms")!
  expect(pdf).toMatchObject({ license: "Apache-2.0", metadata: { author: "example-org", version: "2.0" } })
  expect(snapshot.skills.find((skill) => skill.name === "changelog-writer")!.description).toStartWith(
    "Writes or updates a CHANGELOG.md entry in the Keep a Changelog style from a list of changes",
  )
  expect(snapshot.skills.find((skill) => skill.name === "release-checklist")!.warnings).toEqual([
    'front matter field "user-invocable" is not part of the format; ignored',
  ])
  expect(snapshot.skills.find((skill) => skill.name === "meeting-notes")!.description).toStartWith("Turns a meeting")
})

test("a turn that needs a skill loads it, reads a reference, runs its script in the shell and gets the result", async () => {
  const { llm, gw, sessionId } = drost
  llm.queue(
    reply().tool(wire("skill.load"), { name: "csv-summary" }),
    reply().tool(wire("skill.read"), { skill: "csv-summary", path: "references/FORMAT.md" }),
    reply().tool("shell", { command: "bash skills/csv-summary/scripts/summarize.sh data/sales.csv" }),
    reply().text("The file has 3 rows; units total 12 and revenue 82.75."),
  )
  const before = llm.hits.length
  const result = await (await gw.sessions.prompt({ sessionId, text: "What is in data/sales.csv? Totals please." })).done
  expect(result).toMatchObject({ status: "completed", text: "The file has 3 rows; units total 12 and revenue 82.75." })
  const requests = llm.hits.slice(before).filter((hit) => hit.path.endsWith("/chat/completions"))
  expect(requests.length).toBe(4)

  // Progressive disclosure: the prompt lists names and descriptions only, never a skill's body.
  const system = messages(requests[0]!.body).find((message) => message.role === "system")!.text
  expect(system).toContain("# Skills")
  for (const name of NAMES) expect(system).toContain(`- ${name}: `)
  expect(system).toContain("- csv-summary: Summarise a CSV file (row count, columns")
  expect(system).not.toContain("Use the bundled script; do not count rows")
  const offered = (requests[0]!.body.tools as { function: { name: string } }[]).map((tool) => tool.function.name)
  expect(offered).toEqual(expect.arrayContaining([wire("skill.load"), wire("skill.read"), "shell"]))

  const toolText = (index: number) =>
    messages(requests[index]!.body)
      .filter((message) => message.role === "tool")
      .at(-1)!.text
  // skill.load: the body and the bundled files.
  const loaded = toolText(1)
  expect(loaded).toContain("# Skill: csv-summary")
  expect(loaded).toContain("Use the bundled script; do not count rows")
  expect(loaded).toContain("Files: references/FORMAT.md, scripts/summarize.sh")
  expect(loaded).toContain("Folder: skills/csv-summary")
  // skill.read: a reference on demand.
  expect(toolText(2)).toContain("# Accepted CSV dialect")
  // The script ran in the sandboxed shell; its output came back to the model.
  const ran = toolText(3)
  expect(ran).toContain("units\tnumeric\t12")
  expect(ran).toContain("revenue\tnumeric\t82.75")
  expect(ran).toContain("region\ttext\t-")
  expect(ran).toContain("rows\t3")
}, 30_000)
