/**
 * `--json` on the commands that print data (issue 15 item 11): each prints one JSON document on
 * stdout and nothing else, so scripts can parse it. status/sessions/logs are covered with a running
 * gateway in daemon-verbs.test.ts; prompt show, retention and evolution log in their own tests.
 */
import { expect, test } from "bun:test"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const TOOL = `import { defineTool } from "drost"
export default defineTool({
  name: "hello",
  description: "says hello",
  parameters: { type: "object", properties: {} },
  execute: () => "hello",
})
`

test("version, evolution log, tool check and tool list print JSON", async () => {
  await using ws = await workspace({ files: { "tools/hello.ts": TOOL, "tools/broken.ts": "export default 42\n" } })
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked field by field below
  const json = async (...args: string[]): Promise<{ code: number; value: any }> => {
    const run = await runCli(args, { cwd: ws.path })
    return { code: run.code, value: JSON.parse(run.stdout) }
  }
  expect((await json("version", "--json")).value).toEqual({ version: expect.any(String), commit: expect.any(String) })
  expect((await json("evolution", "log", "--json")).value).toEqual([])
  const checked = await json("tool", "check", "--json")
  expect(checked.code).toBe(1) // broken.ts is rejected
  expect((checked.value.tools as { name: string }[]).map((tool) => tool.name)).toEqual(["hello"])
  expect((checked.value.rejected as { file: string }[]).map((item) => item.file)).toEqual([ws.file("tools/broken.ts")])
  const listed = await json("tool", "list", "--json")
  expect((listed.value.tools as { name: string }[]).some((tool) => tool.name === "hello")).toBe(true)
})

test("evolution show and restart accept --json", async () => {
  await using ws = await workspace()
  const shown = await runCli(["evolution", "show", "evo_x", "--json"], { cwd: ws.path })
  expect(shown.code).toBe(1)
  expect(shown.stdout).toBe("")
  expect(shown.stderr).toBe('drost: unknown evolution "evo_x"; see drost evolution log\n')
  const restart = await runCli(["restart", "--json"], { cwd: ws.path })
  expect(restart.stderr).toContain("no gateway is running")
  expect(restart.stderr).not.toContain("unknown option")
})

test("session import --json on a stopped workspace", async () => {
  const doc = { format: "drost.session", version: 1, session: { provider: "demo", title: "old" }, messages: [] }
  await using ws = await workspace({ files: { "old.json": JSON.stringify(doc) } })
  const run = await runCli(["session", "import", "old.json", "--json"], { cwd: ws.path })
  expect(run.code).toBe(0)
  expect(JSON.parse(run.stdout)).toEqual({ sessionId: expect.stringMatching(/^ses_/), messages: 0 })
})
