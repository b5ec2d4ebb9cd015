/**
 * Command failures as a user sees them (issue 15 items 8-10): one line on stderr and exit 1, never a
 * stack trace (only with DROST_LOG_LEVEL=debug); inspection in an empty folder writes nothing and
 * says that no gateway runs there; arguments are checked (`-v` is the command's, not the version).
 */
import { describe, expect, test } from "bun:test"
import { readdirSync } from "node:fs"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

/** A stack frame as Bun or V8 prints one. */
const STACK = /^\s+at .+[:(]/m

describe("failures are one line and an exit code", () => {
  const cases: [string, string[], RegExp][] = [
    ["evolution show of an unknown id", ["evolution", "show", "evo_nope"], /unknown evolution "evo_nope"/],
    ["evolution revert of an unknown id", ["evolution", "revert", "evo_nope"], /unknown evolution "evo_nope"/],
    [
      "restart against a Control API that does not answer",
      ["restart", "--url", "http://127.0.0.1:1"],
      /Control API at http:\/\/127\.0\.0\.1:1 did not answer/,
    ],
    ["an unknown command", ["evolutoin"], /unknown command "evolutoin"/],
    ["a missing positional", ["evolution", "show"], /ID/],
  ]
  for (const [name, args, message] of cases)
    test(name, async () => {
      await using ws = await workspace()
      const run = await runCli(args, { cwd: ws.path, env: { DROST_CONTROL_ADMIN_TOKEN: "t".repeat(32) } })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(message)
      expect(run.stderr).not.toMatch(STACK)
      expect(run.stderr.trim().split("\n")).toHaveLength(1)
      expect(run.stderr).toStartWith("drost: ")
    })

  test("DROST_LOG_LEVEL=debug adds the stack", async () => {
    await using ws = await workspace()
    const run = await runCli(["restart", "--url", "http://127.0.0.1:1"], {
      cwd: ws.path,
      env: { DROST_CONTROL_ADMIN_TOKEN: "t".repeat(32), DROST_LOG_LEVEL: "debug" },
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(STACK)
  })
})

describe("inspection writes nothing", () => {
  const commands = [["prompt", "show"], ["session", "export", "ses_x"], ["retention", "--dry-run"], ["restart"]]
  for (const args of commands)
    test(`drost ${args.join(" ")} in an empty folder`, async () => {
      await using ws = await workspace()
      const run = await runCli(args, { cwd: ws.path })
      expect(readdirSync(ws.path)).toEqual([])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain("no gateway is running on")
      expect(run.stderr).toContain("drost start")
      expect(run.stderr).not.toMatch(STACK)
    })

  test("evolution log in an empty folder reads and writes nothing", async () => {
    await using ws = await workspace()
    const run = await runCli(["evolution", "log"], { cwd: ws.path })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe("no evolution transactions yet\n")
    expect(readdirSync(ws.path)).toEqual([])
  })
})

describe("arguments are checked", () => {
  test("-v after a command is the command's flag, not the version", async () => {
    await using ws = await workspace()
    const run = await runCli(["evolution", "log", "-v"], { cwd: ws.path })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe("no evolution transactions yet\n")
  })

  test("drost -v and drost --version print the version", async () => {
    await using ws = await workspace()
    for (const flag of ["-v", "--version"]) {
      const run = await runCli([flag], { cwd: ws.path })
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/)
    }
  })

  const bad: [string[], RegExp][] = [
    [["evolution", "log", "--limit", "abc"], /--limit expects a whole number ≥ 1, got "abc"/],
    [["evolution", "log", "--limit", "0"], /--limit expects a whole number ≥ 1, got "0"/],
    [["providers", "probe", "-5"], /-5/],
    [["evolution", "log", "--limt", "3"], /unknown option --limt/],
    [["retention", "--max-sessions", "x"], /--max-sessions expects a whole number ≥ 1, got "x"/],
  ]
  for (const [args, message] of bad)
    test(`drost ${args.join(" ")}`, async () => {
      await using ws = await workspace()
      const run = await runCli(args, { cwd: ws.path })
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(message)
      expect(run.stderr).toContain("--help")
      expect(run.stderr).not.toMatch(STACK)
      expect(readdirSync(ws.path)).toEqual([])
    })
})
