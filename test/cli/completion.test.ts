import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

// Each test spawns real processes (CLI runs); a loaded CI machine needs more than 5 s.
setDefaultTimeout(30_000)

/** Sources the generated bash completion and asks it, like bash does on Tab, for `words`. */
function complete(script: string, words: string[]): string[] {
  const program = `${script}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _drost; printf '%s\\n' "\${COMPREPLY[@]}"`
  const proc = Bun.spawnSync(["bash", "--norc", "--noprofile", "-c", program], { stdout: "pipe", stderr: "pipe" })
  if (proc.exitCode !== 0) throw new Error(proc.stderr.toString())
  return proc.stdout.toString().trim().split("\n").filter(Boolean)
}

describe("drost completion", () => {
  test("bash completes subcommands at any depth and each command's flags, from the live command tree", async () => {
    await using ws = await workspace()
    const { stdout, code } = await runCli(["completion", "bash"], { cwd: ws.path })
    expect(code).toBe(0)
    expect(complete(stdout, ["drost", "se"])).toEqual(expect.arrayContaining(["service", "setup"]))
    expect(complete(stdout, ["drost", "doc"])).toEqual(["doctor"])
    expect(complete(stdout, ["drost", "service", ""])).toEqual(
      expect.arrayContaining(["install", "uninstall", "status", "--help"]),
    )
    expect(complete(stdout, ["drost", "setup", "--tel"]).sort()).toEqual([
      "--telegram",
      "--telegram-api-root",
      "--telegram-owner",
      "--telegram-token",
    ])
    expect(complete(stdout, ["drost", "service", "install", "--no-"])).toEqual(["--no-enable"])
    expect(complete(stdout, ["drost", "doctor", "--"])).toEqual(
      expect.arrayContaining(["--offline", "--json", "--workspace"]),
    )
  })

  test("zsh and fish scripts name the same commands; an unknown shell is an error", async () => {
    await using ws = await workspace()
    const zsh = await runCli(["completion", "zsh"], { cwd: ws.path })
    expect(zsh.stdout).toStartWith("#compdef drost")
    expect(zsh.stdout).toContain("'service install') items=(")
    const fish = await runCli(["completion", "fish"], { cwd: ws.path })
    expect(fish.stdout).toContain("complete -c drost -n '__fish_use_subcommand' -a 'doctor'")
    expect(fish.stdout).toContain("-l 'skip-probe'")
    const bad = await runCli(["completion", "tcsh"], { cwd: ws.path })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('unknown shell "tcsh"')
  })
})
