/**
 * The audit's medium findings on the file side: git.diff followed a tracked file replaced by a symlink
 * to a file outside the workspace (and showed it); each file.read of a FIFO leaked a file descriptor
 * and could block. Now the diff shows the link's text, as git records a link, secrets stay out of
 * git's output too, and a FIFO is refused at once with the gateway's descriptor count unchanged.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import fs, { readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import git from "isomorphic-git"
import { type Bench, bench, SECRET } from "../security/lib.ts"

let b: Bench
const author = { name: "t", email: "t@example.com" }

beforeAll(async () => {
  // A short tool timeout: on the old code a FIFO read hung until it.
  b = await bench({ agent: { toolTimeoutMs: 2_000 } }, { "notes.txt": "hello\n", ".gitignore": ".drost/\n" })
  const dir = b.ws.path
  await git.init({ fs, dir, defaultBranch: "main" })
  for (const filepath of ["notes.txt", ".env", ".gitignore", "README.md"]) await git.add({ fs, dir, filepath })
  await git.commit({ fs, dir, message: "first", author })
  // The tracked file becomes a symlink to a file outside; .env changes.
  rmSync(join(dir, "notes.txt"))
  symlinkSync(join(b.outside, "secret.txt"), join(dir, "notes.txt"))
  writeFileSync(join(dir, ".env"), `OTHER_KEY=${SECRET}-env-2\n`)
  Bun.spawnSync(["mkfifo", join(dir, "pipe")])
})
afterAll(async () => {
  await b?.[Symbol.asyncDispose]()
})

test.each(["viaApi", "viaModel"] as const)(
  "git.diff shows a symlinked tracked file as its link text, and no secret (%s)",
  async (route) => {
    const diff = await b[route]("git.diff", {})
    expect(diff.isError).toBe(false)
    expect(b.leaks(diff.output)).toEqual([])
    expect(diff.output).not.toContain(SECRET)
    expect(diff.output).toContain("-hello")
    expect(diff.output).toContain(`+${join(b.outside, "secret.txt")}`)
    expect(diff.output).not.toContain(".env")
    const status = await b[route]("git.status", {})
    expect(status.output).toContain("notes.txt")
    expect(status.output).not.toContain(".env")
    const show = await b[route]("git.show", {})
    expect(show.output).not.toContain(SECRET)
    expect(show.output).toContain("README.md")
    // Named directly, the link resolves outside the roots and is refused.
    const named = await b[route]("git.diff", { path: "notes.txt" })
    expect(named.isError).toBe(true)
    expect(named.output).not.toContain(SECRET)
  },
)

test("git.commit never stages a secret", async () => {
  const named = await b.viaApi("git.commit", { message: "x", paths: [".env"] })
  expect(named.isError).toBe(true)
  expect(named.output).toMatch(/refused/)
  // (A link pointing outside is refused by git.commit as by every write; make it a file again.)
  rmSync(join(b.ws.path, "notes.txt"))
  writeFileSync(join(b.ws.path, "notes.txt"), "bye\n")
  const commit = await b.viaApi("git.commit", { message: "everything" })
  expect(commit.isError).toBe(false)
  const show = await b.viaApi("git.show", {})
  expect(show.output).toContain("+bye")
  expect(show.output).not.toContain(".env")
  expect(show.output).not.toContain(SECRET)
  // The committed .env is still the first one: the changed one was left out.
  const { blob } = await git.readBlob({
    fs,
    dir: b.ws.path,
    oid: await git.resolveRef({ fs, dir: b.ws.path, ref: "HEAD" }),
    filepath: ".env",
  })
  expect(new TextDecoder().decode(blob)).not.toContain("env-2")
})

/** The gateway's descriptors open on the FIFO itself (a leaked one names it; sockets come and go). */
const fifoFds = () =>
  readdirSync(`/proc/${b.gw.pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${b.gw.pid}/fd/${fd}`) === b.ws.file("pipe")
    } catch {
      return false
    }
  }).length

test("file.read of a FIFO is refused at once and leaks no descriptor", async () => {
  expect((await b.viaApi("file.read", { path: "README.md" })).isError).toBe(false)
  for (let i = 0; i < 20; i++) {
    const started = performance.now()
    const result = await b.viaApi("file.read", { path: "pipe" })
    expect(result.isError).toBe(true)
    expect(result.output).toContain("pipe is a FIFO (named pipe); only regular files are read")
    expect(performance.now() - started).toBeLessThan(1_000)
  }
  const search = await b.viaApi("code.search", { pattern: "x", path: "pipe" })
  expect(search.output).toContain("FIFO")
  const model = await b.viaModel("file.read", { path: "pipe" })
  expect(model.output).toContain("FIFO")
  expect((await b.viaApi("file.read", { path: "README.md" })).isError).toBe(false)
  expect(fifoFds()).toBe(0)
}, 30_000)
