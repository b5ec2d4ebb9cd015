/**
 * The built-in tools against a real workspace: file read ranges, write, edit, glob; code.search with
 * .gitignore; the shell's timeout (whole process group killed), output cap and env allow-list; git
 * through isomorphic-git; web.fetch against a loopback server; and the tool policy (a denial is an
 * event and a tool result).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { ToolsEvent } from "../../src/tool/events.ts"
import { workspace, type Workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess, runTool } from "./lib.ts"

let ws: Workspace
let drost: InProcess
let server: ReturnType<typeof Bun.serve>

beforeAll(async () => {
  ws = await workspace({
    files: {
      ".gitignore": "ignored/\n*.log\n",
      "src/a.ts": "export const alpha = 1\nexport const needle = 'found me'\n",
      "src/b.ts": Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n"),
      "ignored/c.ts": "const needle = 'hidden'\n",
      "debug.log": "needle in a log\n",
    },
  })
  process.env.DROST_TEST_SHELL_SECRET = "shell-secret"
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname
      if (path === "/page")
        return new Response(
          "<html><head><title>Hello page</title><script>var x = 'no script text'</script><style>.a{}</style></head><body><nav>menu</nav><h1>Heading</h1><p>First &amp; para with <a href='/next'>a link</a>.</p></body></html>",
          { headers: { "content-type": "text/html; charset=utf-8" } },
        )
      if (path === "/json") return Response.json({ a: 1, list: [1, 2] })
      if (path === "/big") return new Response("x".repeat(50_000), { headers: { "content-type": "text/plain" } })
      if (path === "/slow") return new Promise<Response>(() => {})
      return new Response("nope", { status: 404 })
    },
  })
  drost = await inProcess(ws.path, {
    tools: {
      deny: ["git.commit"],
      shell: { timeoutMs: 400, outputLimit: 1000 },
      // The fake site is on loopback, which web.fetch refuses unless the owner allows it.
      web: { timeoutMs: 300, maxBytes: 10_000, allowHosts: ["127.0.0.1"] },
    },
  })
})
afterAll(async () => {
  server.stop(true)
  await drost[Symbol.asyncDispose]()
  await ws[Symbol.asyncDispose]()
})

const run = (name: string, args: unknown) => runTool(drost.gw, name, args)

describe("file tools", () => {
  test("read with a line range, write, edit, glob", async () => {
    const range = await run("file.read", { path: "src/b.ts", offset: 10, limit: 3 })
    expect(range.output).toContain("10  line 10\n11  line 11\n12  line 12")
    expect(range.output).toContain("18 more lines")
    expect((await run("file.write", { path: "notes/new.md", content: "one\ntwo\n" })).output).toContain(
      "created notes/new.md",
    )
    const twice = await run("file.edit", { path: "notes/new.md", search: "o", replace: "x" })
    expect(twice.isError).toBe(true)
    expect(twice.output).toContain("occurs 2 times")
    // src/ is loaded code: readable, but changed only through evolve.
    const code = await run("file.edit", { path: "src/b.ts", search: "line 10", replace: "x" })
    expect(code.output).toContain("evolve")
    expect((await run("file.edit", { path: "notes/new.md", search: "two", replace: "deux" })).isError).toBe(false)
    expect(await Bun.file(ws.file("notes/new.md")).text()).toBe("one\ndeux\n")
    const missing = await run("file.edit", { path: "notes/new.md", search: "three", replace: "x" })
    expect(missing.output).toContain("not found")
    const glob = await run("file.glob", { pattern: "**/*.ts" })
    expect(glob.output.split("\n").sort()).toEqual(["src/a.ts", "src/b.ts"])
  })

  test("code.search honours .gitignore and supports literal and regex", async () => {
    const found = await run("code.search", { pattern: "needle" })
    expect(found.output).toBe("src/a.ts:2: export const needle = 'found me'")
    expect((await run("code.search", { pattern: "alpha = \\d", glob: "src/**" })).output).toContain("src/a.ts:1:")
    expect((await run("code.search", { pattern: "(", literal: true })).output).toMatch(/no matches|:\d+:/)
    expect((await run("code.search", { pattern: "(" })).output).toContain("invalid regular expression")
  })
})

describe("shell", () => {
  test("runs a command and reports the exit code", async () => {
    const ok = await run("shell", { command: "echo hello && exit 3" })
    expect(ok.output).toBe("exit code 3\nhello\n")
  })

  test("a timeout kills the whole process group", async () => {
    const marker = ws.file("survivor.txt")
    const started = performance.now()
    const result = await run("shell", { command: "(sleep 2 && echo alive > survivor.txt) & sleep 5" })
    expect(result.isError).toBe(true)
    expect(result.output).toContain("timed out after 400 ms")
    expect(performance.now() - started).toBeLessThan(2000)
    await Bun.sleep(2200) // time is the behaviour under test: the grandchild would have written by now
    expect(existsSync(marker)).toBe(false)
  })

  test("output is capped and the env is an allow-list", async () => {
    const big = await run("shell", { command: "head -c 5000 /dev/zero | tr '\\0' a" })
    expect(big.output).toContain("more bytes of output dropped")
    const env = await run("shell", { command: "env" })
    expect(env.output).toContain("PATH=")
    expect(env.output).not.toContain("shell-secret")
    expect((await run("shell", { command: "sudo ls" })).output).toContain("deny list")
  })
})

describe("git (isomorphic-git)", () => {
  test("status, commit (denied by policy), diff, log, show", async () => {
    expect((await run("git.status", {})).output).toContain("not inside a git repository")
    await run("shell", { command: "true" })
    const git = (await import("isomorphic-git")).default
    const fs = await import("node:fs")
    await git.init({ fs, dir: ws.path, defaultBranch: "main" })
    await git.add({ fs, dir: ws.path, filepath: "src/a.ts" })
    await git.commit({ fs, dir: ws.path, message: "first", author: { name: "t", email: "t@t" } })
    await Bun.write(ws.file("src/a.ts"), "export const alpha = 2\nexport const needle = 'found me'\n")
    const status = await run("git.status", {})
    expect(status.output).toContain("on branch main")
    expect(status.output).toMatch(/modified\s+src\/a.ts/)
    const diff = await run("git.diff", {})
    expect(diff.output).toContain("-export const alpha = 1\n+export const alpha = 2")
    const events: string[] = []
    const off = drost.gw.bus.subscribe(ToolsEvent.Denied, (event) => events.push(event.data.name))
    const denied = await run("git.commit", { message: "x" })
    off()
    expect(denied).toMatchObject({ isError: true })
    expect(denied.output).toContain("denied by the tool policy")
    expect(events).toEqual(["git.commit"])
    expect(drost.gw.tools.specs().map((spec) => spec.name)).not.toContain("git.commit")
    // The commit itself (bypassing the policy that denies it here).
    const log = { info() {}, warn() {}, error() {} }
    const ctx = {
      sessionId: "s",
      turnId: "t",
      callId: "c",
      workspace: { root: ws.path, tools: "", memory: "", prompts: "" },
      signal: new AbortController().signal,
      log,
    }
    expect(
      String(await drost.gw.tools.get("git.commit")!.execute({ message: "second", paths: ["src/a.ts"] }, ctx)),
    ).toMatch(/committed \w+ \(1 file\): second/)
    expect((await run("git.log", {})).output).toMatch(/ {4}second[\s\S]* {4}first/)
    const show = await run("git.show", {})
    expect(show.output).toContain("+++ b/src/a.ts")
    expect(show.output).toContain("+export const alpha = 2")
    expect((await run("git.diff", {})).output).toBe("no changes to tracked files against HEAD")
  })
})

describe("web.fetch", () => {
  const base = () => `http://127.0.0.1:${server.port}`
  test("HTML is reduced to readable text", async () => {
    const page = await run("web.fetch", { url: `${base()}/page` })
    expect(page.output).toContain("Hello page")
    expect(page.output).toContain("# Heading")
    expect(page.output).toContain("First & para with a link (/next).")
    expect(page.output).not.toContain("no script text")
    expect(page.output).not.toContain("menu")
  })
  test("JSON, size cap, timeout and bad URLs", async () => {
    expect((await run("web.fetch", { url: `${base()}/json` })).output).toContain('"list": [')
    expect((await run("web.fetch", { url: `${base()}/big` })).output).toContain("cut at 10000 bytes")
    const slow = await run("web.fetch", { url: `${base()}/slow` })
    expect(slow.isError).toBe(true)
    expect(slow.output).toContain("within 300 ms")
    expect((await run("web.fetch", { url: "file:///etc/passwd" })).output).toContain("only http and https")
  })
})

describe("tool policy", () => {
  test("the strict profile drops shell and web", async () => {
    await using other = await workspace()
    await using strict = await inProcess(other.path, { tools: { profile: "strict" } })
    const offered = strict.gw.tools.specs().map((spec) => spec.name)
    expect(offered).not.toContain("shell")
    expect(offered).not.toContain("web.fetch")
    expect(offered).toContain("file.read")
    const denied = await strict.call("shell", { command: "ls" })
    expect(denied.isError).toBe(true)
    expect(denied.output).toContain('not available in the "strict" tool profile')
    expect(join(other.path)).toBeTruthy()
  })
})
