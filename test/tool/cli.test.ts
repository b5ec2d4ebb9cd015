/**
 * `drost tool new | check | list` as a user runs them: every template gives a tool that loads and a
 * test that passes with the workspace's own `bun test`; check and list report broken files with the
 * reason and exit 1.
 */
import { describe, expect, test } from "bun:test"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

describe("drost tool", () => {
  test("new (every template) → check ok → the generated tests pass → list shows them", async () => {
    await using ws = await workspace()
    for (const template of ["basic", "fetch", "shell", "file"]) {
      const created = await runCli(["tool", "new", `my.${template}`, "--template", template], { cwd: ws.path })
      expect(created.stdout).toContain(`created tools/my-${template}.ts and tools/my-${template}.test.ts`)
      expect(created.code).toBe(0)
    }
    const again = await runCli(["tool", "new", "my.basic"], { cwd: ws.path })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("already exists; pass --force")
    expect((await runCli(["tool", "new", "x", "--template", "nope"], { cwd: ws.path })).stderr).toContain(
      "unknown template",
    )

    const check = await runCli(["tool", "check"], { cwd: ws.path })
    expect(check.code).toBe(0)
    for (const template of ["basic", "fetch", "shell", "file"])
      expect(check.stdout).toContain(`ok  tools/my-${template}.ts  my.${template}`)

    const tests = Bun.spawnSync([process.execPath, "test", "tools/"], {
      cwd: ws.path,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1" },
    })
    const report = tests.stderr.toString()
    expect(report).toContain("5 pass")
    expect(report).toContain("0 fail")

    ws.write("tools/broken.ts", "export default { name: 'broken' }\n")
    const bad = await runCli(["tool", "check", "tools/broken.ts"], { cwd: ws.path })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain("bad tools/broken.ts  the tool is missing description, parameters, execute")
    const list = await runCli(["tool", "list"], { cwd: ws.path })
    expect(list.code).toBe(1)
    expect(list.stdout).toContain("my.basic")
    expect(list.stdout).toContain("file.read")
    expect(list.stdout).toContain("rejected (1):")
  }, 30_000)

  test("check and list load in a sandboxed tool host: a file that aborts it is reported, the others still load", async () => {
    await using ws = await workspace({
      files: {
        "tools/abort.ts": "process.abort()\n",
        "tools/pid.ts": `import { defineTool } from "drost"
import { existsSync } from "node:fs"
export default defineTool({
  name: "pid",
  description: "pid " + process.pid + " state " + existsSync(".drost/control-token") + " key " + (process.env.OPENAI_API_KEY ?? "none"),
  parameters: { type: "object", properties: {} },
  execute: () => "ok",
})
`,
        ".drost/control-token": "secret-token",
      },
    })
    const env = { OPENAI_API_KEY: "sk-fake-cli-key" }
    const check = await runCli(["tool", "check"], { cwd: ws.path, env })
    expect(check.signal).toBeNull()
    expect(check.code).toBe(1)
    expect(check.stdout).toContain("bad tools/abort.ts  importing it ended its tool host: exited (killed by SIGABRT)")
    expect(check.stdout).toMatch(/ok {2}tools\/pid\.ts {2}pid: pid \d+ state false key none/)
    const list = await runCli(["tool", "list", "--json"], { cwd: ws.path, env })
    expect(list.code).toBe(1)
    const listed = JSON.parse(list.stdout) as {
      tools: { name: string }[]
      rejected: { file: string; reason: string }[]
    }
    expect(listed.tools.map((tool) => tool.name)).toContain("pid")
    expect(listed.rejected.find((item) => item.file === "tools/abort.ts")?.reason).toContain("SIGABRT")
  }, 30_000)
})
