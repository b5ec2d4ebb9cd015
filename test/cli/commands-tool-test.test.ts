/**
 * `drost tool test` (issue 15 item 15, its `drost tool new` part): `tool new` points at it instead of
 * `bun test`, which binary users do not have; it runs a tool's tests with the test runner inside drost
 * (the compiled binary as Bun, BUN_BE_BUN=1) and passes the runner's exit code on.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { buildBinary } from "../binary/binary.ts"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

describe("drost tool test", () => {
  test("tool new prints drost tool test, which runs the test and reports a failure with exit 1", async () => {
    await using ws = await workspace()
    const created = await runCli(["tool", "new", "greet"], { cwd: ws.path })
    expect(created.code).toBe(0)
    expect(created.stdout).toContain("test it:   drost tool test greet")
    expect(created.stdout).not.toContain("bun test")
    expect(readFileSync(ws.file("tools/greet.test.ts"), "utf8")).toStartWith("// Run with `drost tool test`")

    const passed = await runCli(["tool", "test", "greet"], { cwd: ws.path })
    expect(passed.code).toBe(0)
    expect(passed.stderr).toContain("(pass) greet repeats the text")

    // Break the tool: the test fails and so does the command.
    const file = ws.file("tools/greet.ts")
    writeFileSync(file, readFileSync(file, "utf8").replace('.join(" ")', '.join("-")'))
    const failed = await runCli(["tool", "test"], { cwd: ws.path })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain("(fail) greet repeats the text")

    const unknown = await runCli(["tool", "test", "nope"], { cwd: ws.path })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no test for "nope"')
  })

  describe("in the compiled binary, with no bun on PATH", () => {
    let binary: string | null = null
    afterAll(() => {
      if (binary) rmSync(binary, { force: true })
    })
    test("tool new then tool test runs the test", async () => {
      binary = (await buildBinary([], "drost-tool-test")).file
      await using ws = await workspace()
      const empty = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "no-bun-"))
      symlinkSync("/usr/bin/bwrap", join(empty, "bwrap"))
      const env = { PATH: empty, HOME: ws.path }
      const run = (...args: string[]) => {
        const proc = Bun.spawnSync([binary!, ...args], { cwd: ws.path, env, stdout: "pipe", stderr: "pipe" })
        return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
      }
      expect(run("tool", "new", "greet").stdout).toContain("drost tool test greet")
      const tested = run("tool", "test", "greet")
      expect(tested.stderr).toContain("(pass) greet repeats the text")
      expect(tested.code).toBe(0)
      rmSync(empty, { recursive: true, force: true })
    }, 120_000)
  })
})
