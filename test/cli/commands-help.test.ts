/**
 * `--help` (issue 15 item 12): it fits the terminal (a 100-column PTY, 80 columns into a pipe), is
 * plain text when piped, coloured in a terminal, and NO_COLOR set to any non-empty value turns the
 * colour off.
 */
import { describe, expect, test } from "bun:test"
import { ENTRY, runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const ANSI = /\x1b\[[0-9;]*m/
const strip = (text: string) => text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
const widest = (text: string) => Math.max(...text.split(/\r?\n/).map((line) => strip(line).length))

/** Runs `drost …args` in a pseudo-terminal `cols` wide and returns what it printed. */
async function inTerminal(args: string[], cols: number, env: Record<string, string> = {}): Promise<string> {
  await using ws = await workspace()
  const decoder = new TextDecoder()
  let out = ""
  const proc = Bun.spawn([process.execPath, ENTRY, ...args], {
    cwd: ws.path,
    env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "", CI: "", ...env },
    terminal: {
      cols,
      rows: 50,
      data(_terminal, data) {
        out += decoder.decode(data, { stream: true })
      },
    },
  })
  await proc.exited
  proc.terminal?.close()
  return out
}

const pages = [["--help"], ["evolution", "log", "--help"], ["retention", "--help"], ["sessions", "--help"]]

describe("help into a pipe", () => {
  for (const args of pages)
    test(`drost ${args.join(" ")} is plain and at most 80 columns`, async () => {
      await using ws = await workspace()
      const run = await runCli(args, { cwd: ws.path, env: { NO_COLOR: "", CI: "" } })
      expect(run.code).toBe(0)
      expect(run.stdout).not.toMatch(ANSI)
      expect(widest(run.stdout)).toBeLessThanOrEqual(80)
      // No padding: a line never ends in spaces.
      expect(run.stdout.split("\n").filter((line) => line.endsWith(" "))).toEqual([])
    })

  test("every command and option is still listed", async () => {
    await using ws = await workspace()
    const root = (await runCli(["--help"], { cwd: ws.path })).stdout
    for (const name of ["start", "status", "stop", "logs", "sessions", "evolution", "tool"])
      expect(root).toMatch(new RegExp(`^  ${name} `, "m"))
    const log = (await runCli(["evolution", "log", "--help"], { cwd: ws.path })).stdout
    expect(log).toContain("-v, --verbose")
    expect(log).toContain("-n, --limit=<limit>")
  })
})

test("drost help <command> is <command> --help", async () => {
  await using ws = await workspace()
  const help = await runCli(["help", "evolution", "log"], { cwd: ws.path })
  expect(help.code).toBe(0)
  expect(help.stdout).toBe((await runCli(["evolution", "log", "--help"], { cwd: ws.path })).stdout)
  expect(help.stdout).toContain("USAGE drost evolution log [OPTIONS]")
})

describe("help in a terminal", () => {
  test("fits a 100-column terminal and is coloured", async () => {
    const out = await inTerminal(["--help"], 100)
    expect(out).toMatch(ANSI)
    expect(widest(out)).toBeLessThanOrEqual(100)
    expect(strip(out)).toContain("Run drost <COMMAND> --help")
  })

  test("a narrow terminal wraps the descriptions under their column", async () => {
    const out = strip(await inTerminal(["retention", "--help"], 60))
    expect(widest(out)).toBeLessThanOrEqual(60)
    expect(out).toContain("--max-age-days")
  })

  for (const value of ["1", "true", "0", "anything"])
    test(`NO_COLOR=${value} turns the colour off`, async () => {
      const out = await inTerminal(["--help"], 100, { NO_COLOR: value })
      expect(out).not.toMatch(ANSI)
      expect(out).toContain("COMMANDS")
    })
})
