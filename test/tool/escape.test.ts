/**
 * The escape battery: reads and writes through the file tools and the shell that try to leave the
 * roots by `..`, absolute paths, symlinked files, symlinked parent folders, variable expansion and
 * interpreters. None may succeed; the in-root controls must.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess, runTool } from "./lib.ts"

const SECRET = "TOP-SECRET-7f3a"
let ws: Workspace
let outside: string
let drost: InProcess

beforeAll(async () => {
  ws = await workspace({ files: { "README.md": "inside readme\n", "scratch/keep.txt": "keep\n" } })
  outside = join(ws.path, "..", `${ws.path.split("/").at(-1)}-outside`)
  mkdirSync(outside, { recursive: true })
  writeFileSync(join(outside, "secret.txt"), `${SECRET}\n`)
  symlinkSync(outside, join(ws.path, "link-out"))
  symlinkSync(join(outside, "secret.txt"), join(ws.path, "secret-link"))
  symlinkSync(outside, join(ws.path, "scratch", "link-up"))
  // Reads anywhere in the workspace, writes (and the shell) only in scratch/.
  drost = await inProcess(ws.path, { tools: { roots: ["."], mutableRoots: ["scratch"] } })
})
afterAll(async () => {
  await drost[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
})

const abs = () => join(outside, "secret.txt")
const attempts: [string, string, () => unknown][] = [
  ["read ..", "file.read", () => ({ path: `../${outside.split("/").at(-1)}/secret.txt` })],
  ["read absolute", "file.read", () => ({ path: abs() })],
  ["read /etc/passwd", "file.read", () => ({ path: "/etc/passwd" })],
  ["read symlinked file", "file.read", () => ({ path: "secret-link" })],
  ["read through symlinked folder", "file.read", () => ({ path: "link-out/secret.txt" })],
  ["read scratch/../..", "file.read", () => ({ path: `scratch/../../${outside.split("/").at(-1)}/secret.txt` })],
  ["list ..", "file.list", () => ({ path: ".." })],
  ["list symlinked folder", "file.list", () => ({ path: "link-out" })],
  ["glob above the root", "file.glob", () => ({ pattern: "**/*", path: ".." })],
  ["search outside", "code.search", () => ({ pattern: SECRET, path: outside })],
  ["search symlinked folder", "code.search", () => ({ pattern: SECRET, path: "link-out" })],
  ["write ..", "file.write", () => ({ path: `../${outside.split("/").at(-1)}/new.txt`, content: "x" })],
  ["write absolute", "file.write", () => ({ path: join(outside, "new.txt"), content: "x" })],
  ["write through symlinked folder", "file.write", () => ({ path: "link-out/new.txt", content: "x" })],
  ["write through symlink in a mutable root", "file.write", () => ({ path: "scratch/link-up/new.txt", content: "x" })],
  ["edit a symlinked file", "file.edit", () => ({ path: "secret-link", search: "TOP", replace: "PWN" })],
  ["write a readable but immutable file", "file.write", () => ({ path: "README.md", content: "pwned" })],
  ["write scratch/.. (immutable root)", "file.write", () => ({ path: "scratch/../escape.txt", content: "x" })],
  ["shell cat ..", "shell", () => ({ command: `cat ../../${outside.split("/").at(-1)}/secret.txt`, cwd: "scratch" })],
  ["shell cat absolute", "shell", () => ({ command: `cat ${abs()}`, cwd: "scratch" })],
  ["shell cat symlinked file", "shell", () => ({ command: "cat ../secret-link", cwd: "scratch" })],
  ["shell cat through symlinked folder", "shell", () => ({ command: "cat link-up/secret.txt", cwd: "scratch" })],
  [
    "shell cd .. twice",
    "shell",
    () => ({ command: `cd ../.. && cat ${outside.split("/").at(-1)}/secret.txt`, cwd: "scratch" }),
  ],
  ["shell write outside", "shell", () => ({ command: `echo pwned > ${join(outside, "new.txt")}`, cwd: "scratch" })],
  ["shell $HOME", "shell", () => ({ command: "cat $HOME/.profile", cwd: "scratch" })],
  ["shell ~", "shell", () => ({ command: "cat ~/.profile", cwd: "scratch" })],
  ["shell $(…)", "shell", () => ({ command: "cat $(echo /etc/passwd)", cwd: "scratch" })],
  ["shell backticks", "shell", () => ({ command: "cat `echo /etc/passwd`", cwd: "scratch" })],
  [
    "shell interpreter with absolute path",
    "shell",
    () => ({ command: `python3 -c "print(open('${abs()}').read())"`, cwd: "scratch" }),
  ],
  [
    "shell interpreter with ..",
    "shell",
    () => ({ command: `node -e "process.chdir('..'); process.chdir('..')"`, cwd: "scratch" }),
  ],
  ["shell symlink to /", "shell", () => ({ command: "ln -s / root-link", cwd: "scratch" })],
  ["shell cwd outside", "shell", () => ({ command: "cat secret.txt", cwd: `../${outside.split("/").at(-1)}` })],
  ["shell cwd in an immutable root", "shell", () => ({ command: "echo hi > new.txt", cwd: "." })],
  ["shell cwd through symlink", "shell", () => ({ command: "cat secret.txt", cwd: "scratch/link-up" })],
]

describe("escape battery", () => {
  test(`${attempts.length} attempts to leave the roots: none succeeds`, async () => {
    expect(attempts.length).toBeGreaterThanOrEqual(20)
    const succeeded: string[] = []
    for (const [label, tool, args] of attempts) {
      const result = await runTool(drost.gw, tool, args())
      if (!result.isError || result.output.includes(SECRET)) succeeded.push(`${label}: ${result.output.slice(0, 200)}`)
      else
        expect(result.output).toMatch(/outside the roots|refused|writable root|broken symbolic|not (?:a|an) |allowed/i)
    }
    expect(succeeded).toEqual([])
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe(`${SECRET}\n`)
    expect(existsSync(join(outside, "new.txt"))).toBe(false)
    expect(readFileSync(join(ws.path, "README.md"), "utf8")).toBe("inside readme\n")
    expect(existsSync(join(ws.path, "escape.txt"))).toBe(false)
    expect(existsSync(join(ws.path, "scratch", "root-link"))).toBe(false)
  })

  test("the same tools work inside the roots", async () => {
    expect((await runTool(drost.gw, "file.read", { path: "README.md" })).output).toContain("inside readme")
    expect((await runTool(drost.gw, "file.write", { path: "scratch/ok.txt", content: "fine\n" })).isError).toBe(false)
    expect(
      (await runTool(drost.gw, "file.edit", { path: "scratch/ok.txt", search: "fine", replace: "edited" })).isError,
    ).toBe(false)
    expect(readFileSync(join(ws.path, "scratch/ok.txt"), "utf8")).toBe("edited\n")
    const shell = await runTool(drost.gw, "shell", {
      command: "cat ../README.md && echo made > made.txt",
      cwd: "scratch",
    })
    expect(shell.isError).toBe(false)
    expect(shell.output).toContain("inside readme")
    expect(readFileSync(join(ws.path, "scratch/made.txt"), "utf8")).toBe("made\n")
  })
})
