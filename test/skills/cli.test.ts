/**
 * `drost skill new | list | check | install` as a user runs them. Install takes a folder (the fixture
 * set), a .zip (written here entry by entry, stored and deflated, as zip tools write them; one with a
 * `../` entry is refused whole) and a git URL served over smart HTTP by `git http-backend` on
 * 127.0.0.1 (the real protocol isomorphic-git speaks). Broken skills are reported and not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

const FIXTURES = join(import.meta.dir, "../fixtures/skills")
const skill = (name: string, description: string) => `---\nname: ${name}\ndescription: ${description}\n---\n\nDo it.\n`

/** A zip archive of `files` (path → text); `deflate` picks deflated (8) or stored (0) entries. */
function zip(files: Record<string, string>, deflate = true): Uint8Array {
  const encoder = new TextEncoder()
  const locals: Uint8Array[] = []
  const centrals: Uint8Array[] = []
  let offset = 0
  for (const [path, text] of Object.entries(files)) {
    const name = encoder.encode(path)
    const data = encoder.encode(text)
    const packed = deflate ? Bun.deflateSync(data) : data
    const crc = Bun.hash.crc32(data)
    const local = new Uint8Array(30 + name.length + packed.length)
    const l = new DataView(local.buffer)
    l.setUint32(0, 0x04034b50, true)
    l.setUint16(4, 20, true)
    l.setUint16(8, deflate ? 8 : 0, true)
    l.setUint32(14, crc, true)
    l.setUint32(18, packed.length, true)
    l.setUint32(22, data.length, true)
    l.setUint16(26, name.length, true)
    local.set(name, 30)
    local.set(packed, 30 + name.length)
    const central = new Uint8Array(46 + name.length)
    const c = new DataView(central.buffer)
    c.setUint32(0, 0x02014b50, true)
    c.setUint16(4, (3 << 8) | 20, true)
    c.setUint16(6, 20, true)
    c.setUint16(10, deflate ? 8 : 0, true)
    c.setUint32(16, crc, true)
    c.setUint32(20, packed.length, true)
    c.setUint32(24, data.length, true)
    c.setUint16(28, name.length, true)
    c.setUint32(38, (0o100644 << 16) >>> 0, true)
    c.setUint32(42, offset, true)
    central.set(name, 46)
    locals.push(local)
    centrals.push(central)
    offset += local.length
  }
  const size = centrals.reduce((sum, part) => sum + part.length, 0)
  const end = new Uint8Array(22)
  const e = new DataView(end.buffer)
  e.setUint32(0, 0x06054b50, true)
  e.setUint16(8, centrals.length, true)
  e.setUint16(10, centrals.length, true)
  e.setUint32(12, size, true)
  e.setUint32(16, offset, true)
  const all = [...locals, ...centrals, end]
  const out = new Uint8Array(all.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of all) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Smart HTTP for the repositories under `root`, through git's own CGI program. */
function gitServer(root: string) {
  return Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url)
      const body = new Uint8Array(await request.arrayBuffer())
      const proc = Bun.spawn(["git", "http-backend"], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: "1",
          PATH_INFO: url.pathname,
          QUERY_STRING: url.search.slice(1),
          REQUEST_METHOD: request.method,
          CONTENT_TYPE: request.headers.get("content-type") ?? "",
          CONTENT_LENGTH: String(body.length),
        },
        stdin: body,
        stdout: "pipe",
        stderr: "ignore",
      })
      const out = new Uint8Array(await new Response(proc.stdout).arrayBuffer())
      const split = out.findIndex(
        (_, i) => out[i] === 13 && out[i + 1] === 10 && out[i + 2] === 13 && out[i + 3] === 10,
      )
      const head = new TextDecoder().decode(out.subarray(0, split)).split("\r\n")
      const headers = new Headers()
      let status = 200
      for (const line of head) {
        const [key, ...rest] = line.split(":")
        if (key!.toLowerCase() === "status") status = Number.parseInt(rest.join(":").trim(), 10)
        else headers.set(key!, rest.join(":").trim())
      }
      return new Response(out.subarray(split + 4), { status, headers })
    },
  })
}

let repos: string
let server: ReturnType<typeof gitServer>

beforeAll(() => {
  repos = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "git-repos-"))
  const repo = join(repos, "skills.git")
  const git = (...args: string[]) => {
    const result = Bun.spawnSync(["git", ...args], { cwd: repo, stderr: "pipe" })
    if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`)
  }
  Bun.spawnSync(["git", "init", "-q", "-b", "main", repo])
  for (const [path, text] of Object.entries({
    "README.md": "A repository of skills.\n",
    "skills/repo-one/SKILL.md": skill("repo-one", "First skill of the repository."),
    "skills/repo-one/scripts/run.sh": "echo one\n",
    "skills/repo-two/SKILL.md": skill("repo-two", "Second skill of the repository."),
  })) {
    Bun.spawnSync(["mkdir", "-p", join(repo, path, "..")])
    writeFileSync(join(repo, path), text)
  }
  git("add", ".")
  git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "skills")
  git("config", "http.receivepack", "false")
  server = gitServer(repos)
})
afterAll(() => {
  server?.stop(true)
  rmSync(repos, { recursive: true, force: true })
})

describe("drost skill", () => {
  test("new → check → list; a broken skill fails check with its reason", async () => {
    await using ws = await workspace()
    const created = await runCli(["skill", "new", "my-helper", "-d", "Helps. Use when asked for help."], {
      cwd: ws.path,
    })
    expect(created.stdout).toContain("created skills/my-helper/SKILL.md")
    expect(created.code).toBe(0)
    expect((await runCli(["skill", "new", "Bad_Name"], { cwd: ws.path })).code).toBe(2)
    const check = await runCli(["skill", "check"], { cwd: ws.path })
    expect(check.stdout).toContain("ok my-helper (skills/my-helper)")
    expect(check.code).toBe(0)
    ws.write("skills/broken/SKILL.md", skill("not-broken", "Wrong folder."))
    const bad = await runCli(["skill", "check", "skills/broken"], { cwd: ws.path })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('rejected skills/broken: name "not-broken" must match its folder\'s name "broken"')
    const list = await runCli(["skill", "list", "--json"], { cwd: ws.path })
    const listed = JSON.parse(list.stdout)
    expect(listed.skills.map((each: { name: string }) => each.name)).toEqual(["my-helper"])
    expect(listed.rejected.length).toBe(1)
  }, 30_000)

  test("install from a folder: every fixture skill, then list shows them", async () => {
    await using ws = await workspace()
    const installed = await runCli(["skill", "install", FIXTURES], { cwd: ws.path })
    expect(installed.code).toBe(0)
    const names = readdirSync(FIXTURES).sort()
    for (const name of names) expect(installed.stdout).toContain(`installed ${name} in skills/${name}`)
    const again = await runCli(["skill", "install", join(FIXTURES, "csv-summary")], { cwd: ws.path })
    expect(again.code).toBe(1)
    expect(again.stdout).toContain("skills/csv-summary already exists; pass --force to replace it")
    const forced = await runCli(["skill", "install", join(FIXTURES, "csv-summary"), "--force"], { cwd: ws.path })
    expect(forced.stdout).toContain("replaced csv-summary")
    const check = await runCli(["skill", "check"], { cwd: ws.path })
    expect(check.stdout).toContain(`${names.length} ok, 0 rejected`)
    expect(existsSync(ws.file("skills/csv-summary/scripts/summarize.sh"))).toBe(true)
  }, 30_000)

  test("install from a .zip (deflated and stored entries); one writing outside is refused", async () => {
    await using ws = await workspace()
    const archive = join(ws.path, "packed.zip")
    writeFileSync(
      archive,
      zip({
        "zipped-skill/SKILL.md": skill("zipped-skill", "Came in a zip. Use when testing archives."),
        "zipped-skill/references/REFERENCE.md": `# Reference\n${"words ".repeat(200)}\n`,
      }),
    )
    const installed = await runCli(["skill", "install", archive], { cwd: ws.path })
    expect(installed.stdout).toContain("installed zipped-skill in skills/zipped-skill")
    expect(installed.code).toBe(0)
    expect(await Bun.file(ws.file("skills/zipped-skill/references/REFERENCE.md")).text()).toStartWith("# Reference\n")
    const stored = join(ws.path, "stored.zip")
    writeFileSync(stored, zip({ "SKILL.md": skill("stored-skill", "Stored, not deflated.") }, false))
    expect((await runCli(["skill", "install", stored], { cwd: ws.path })).stdout).toContain("installed stored-skill")

    const evil = join(ws.path, "evil.zip")
    writeFileSync(evil, zip({ "x/SKILL.md": skill("x", "Looks fine."), "../escaped.txt": "gotcha\n" }))
    const refused = await runCli(["skill", "install", evil], { cwd: ws.path })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("../escaped.txt would be written outside the target folder; refused")
    expect(existsSync(ws.file("skills/x"))).toBe(false)
    expect((await runCli(["skill", "install", "npm:some-skill"], { cwd: ws.path })).stderr).toContain(
      "npm packages are not supported",
    )
  }, 30_000)

  test("install from a git URL (smart HTTP): the repository's skills/<name> folders", async () => {
    await using ws = await workspace()
    const url = `http://127.0.0.1:${server.port}/skills.git`
    const installed = await runCli(["skill", "install", url], { cwd: ws.path })
    expect(installed.stderr).toBe("")
    expect(installed.stdout).toContain("installed repo-one in skills/repo-one")
    expect(installed.stdout).toContain("installed repo-two in skills/repo-two")
    expect(installed.code).toBe(0)
    expect(await Bun.file(ws.file("skills/repo-one/scripts/run.sh")).text()).toBe("echo one\n")
    expect(existsSync(ws.file("skills/repo-one/.git"))).toBe(false)
    const missing = await runCli(["skill", "install", `http://127.0.0.1:${server.port}/nothing.git`], { cwd: ws.path })
    expect(missing.code).toBe(1)
  }, 30_000)
})
