/**
 * Memory through the running gateway: the tools are registered, a note a person edits on disk is found
 * by the very next memory.search over the Control API, and memory.write lands in today's note.
 */
import { expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

test("a person's edit to a note is found on the next memory.search; memory.write appends to today's note", async () => {
  await using ws = await workspace({
    config: demoConfig(),
    files: { "memory/projects/garden.md": "# Garden\nplant tomatoes in May\n" },
  })
  await using gw = await spawnGateway(ws.path)
  const run = async (name: string, args: Record<string, unknown>) =>
    (await (await gw.api(`/tools/${name}/execute`, { method: "POST", json: args })).json()) as {
      output: string
      isError: boolean
    }
  const tools = (await (await gw.api("/tools")).json()) as { tools: { name: string }[] }
  expect(tools.tools.map((tool) => tool.name)).toEqual(
    expect.arrayContaining(["memory.search", "memory.get", "memory.write"]),
  )

  expect((await run("memory.search", { query: "tomatoes" })).output).toContain("projects/garden.md — Garden")
  expect((await run("memory.search", { query: "courgettes" })).output).toBe('no notes match "courgettes"')
  // A person edits the file with any editor; no reindex command.
  writeFileSync(ws.file("memory/projects/garden.md"), "# Garden\nplant tomatoes in May\nand courgettes in June\n")
  const found = await run("memory.search", { query: "courgettes" })
  expect(found.output).toContain("projects/garden.md")
  expect(found.output).toContain("**courgettes**")

  const wrote = await run("memory.write", { text: "The user prefers metric units." })
  expect(wrote.output).toMatch(/^appended to memory\/\d{4}-\d{2}-\d{2}\.md$/)
  expect((await run("memory.search", { query: "metric units" })).output).toContain(
    wrote.output.replace("appended to memory/", ""),
  )
  // The memory capsule of the next turn carries today's note.
  const preview = (await (await gw.api("/prompt")).json()) as { system: { text: string; sections: { name: string }[] } }
  expect(preview.system.text).toContain("The user prefers metric units.")
  expect(preview.system.sections.map((section) => section.name)).toContain("memory")
  expect(await gw.stop()).toBe(0)
}, 20_000)
