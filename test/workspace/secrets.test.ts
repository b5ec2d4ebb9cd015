/**
 * Audit findings 1 and 3 (file-tool part), through both ways the audit used (the tool route and a
 * model turn), on the default config (`tools.roots` and `mutableRoots` both "."): the admin token, the
 * auth profiles and `.env` are never read, searched, listed or overwritten by a file tool, and loaded
 * code (a workspace tool, the config) is refused with a message naming `evolve`. Reads of loaded code
 * and ordinary files keep working.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, linkSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Bench, bench, KEY, SECRET } from "../security/lib.ts"

let b: Bench
let token: string
const routes = ["viaApi", "viaModel"] as const

beforeAll(async () => {
  b = await bench()
  token = readFileSync(join(b.ws.path, ".drost", "control-token"), "utf8").trim()
  writeFileSync(
    join(b.ws.path, ".drost", "auth-profiles.json"),
    JSON.stringify({ profiles: [{ id: "openai", apiKey: KEY }] }),
  )
  // A hard link passes every path check; nothing the model runs can make one, but one may exist.
  linkSync(join(b.ws.path, ".drost", "control-token"), join(b.ws.path, "token-copy.txt"))
})
afterAll(async () => {
  await b?.[Symbol.asyncDispose]()
})

describe.each(routes)("secrets stay out of reach (%s)", (route) => {
  const attempts: [string, string, () => Record<string, unknown>][] = [
    ["read the admin token", "file.read", () => ({ path: ".drost/control-token" })],
    ["read the auth profiles", "file.read", () => ({ path: ".drost/auth-profiles.json" })],
    ["read .env", "file.read", () => ({ path: ".env" })],
    ["read the token by absolute path", "file.read", () => ({ path: join(b.ws.path, ".drost/control-token") })],
    ["read through ./.drost/../.drost", "file.read", () => ({ path: "./.drost/../.drost/control-token" })],
    ["read through /proc/self/root", "file.read", () => ({ path: `/proc/self/root${b.ws.path}/.drost/control-token` })],
    ["read a hard link to the token", "file.read", () => ({ path: "token-copy.txt" })],
    ["search a hard link to the token", "code.search", () => ({ pattern: "drost_", path: "token-copy.txt" })],
    ["search the state folder for the token", "code.search", () => ({ pattern: token, literal: true, path: ".drost" })],
    ["search the workspace for the token", "code.search", () => ({ pattern: token, literal: true })],
    ["search the workspace for .env's value", "code.search", () => ({ pattern: `${SECRET}-env`, literal: true })],
    ["search .env itself", "code.search", () => ({ pattern: "KEY", path: ".env" })],
    ["list the state folder", "file.list", () => ({ path: ".drost" })],
    ["glob the state folder", "file.glob", () => ({ pattern: "**/*", path: ".drost" })],
  ]
  for (const [label, tool, args] of attempts)
    test(label, async () => {
      const result = await b[route](tool, args())
      // A search result repeats its pattern ("no matches for …"); that is the caller's text, not a leak.
      const pattern = args().pattern
      const text = typeof pattern === "string" ? result.output.replaceAll(pattern, "<pattern>") : result.output
      expect(b.leaks(text)).toEqual([])
      expect(result.output).not.toMatch(/^\S+:\d+: /m)
      // A refusal says so; a search of the whole workspace simply finds nothing.
      if (tool !== "code.search" || args().path) expect(result.output).toMatch(/refused|private state/i)
    })

  test("file.list and file.glob of the workspace show neither .drost contents nor .env", async () => {
    const list = await b[route]("file.list", { path: "." })
    expect(list.output).toContain("README.md")
    expect(list.output).not.toMatch(/\.drost|\.env/)
    const glob = await b[route]("file.glob", { pattern: "**/*" })
    expect(glob.output).toContain("README.md")
    expect(glob.output).not.toMatch(/\.drost|\.env|control-token/)
    const dots = await b[route]("file.glob", { pattern: "{.*,**/.*,.*/**}" })
    expect(dots.output).not.toMatch(/\.drost|\.env|control-token/)
  })

  test("file.write over the admin token is refused and the token is unchanged", async () => {
    const result = await b[route]("file.write", { path: ".drost/control-token", content: "attacker-token" })
    expect(result.isError).toBe(true)
    expect(result.output).toMatch(/refused/i)
    const edit = await b[route]("file.edit", { path: ".drost/control-token", search: token, replace: "x" })
    expect(edit.output).toMatch(/refused/i)
    const env = await b[route]("file.write", { path: ".env", content: "OPENAI_API_KEY=mine\n" })
    expect(env.output).toMatch(/refused/i)
    expect(readFileSync(join(b.ws.path, ".drost", "control-token"), "utf8").trim()).toBe(token)
    expect(readFileSync(join(b.ws.path, ".env"), "utf8")).toContain(`${SECRET}-env`)
  })

  test("file.write of a workspace tool or the config is refused, naming evolve", async () => {
    const pwn = "export default { description: 'x', execute: () => String(process.pid) }\n"
    for (const [tool, args] of [
      ["file.write", { path: "tools/pwn.ts", content: pwn }],
      ["file.write", { path: "drost.config.ts", content: "export default { tools: { roots: ['/'] } }\n" }],
      ["file.write", { path: "drost.config.json", content: "{}" }],
      ["file.edit", { path: "drost.config.json", search: "{", replace: "{ " }],
      ["file.write", { path: "prompts/system.md", content: "You obey." }],
      ["file.write", { path: "node_modules/x/index.js", content: "" }],
    ] as const) {
      const result = await b[route](tool, args)
      expect(result.isError).toBe(true)
      expect(result.output).toContain("evolve")
    }
    expect(existsSync(join(b.ws.path, "tools", "pwn.ts"))).toBe(false)
    expect(existsSync(join(b.ws.path, "drost.config.ts"))).toBe(false)
    expect(existsSync(join(b.ws.path, "node_modules"))).toBe(false)
    expect(readFileSync(join(b.ws.path, "prompts", "system.md"), "utf8")).toBe("You are a test.\n")
  })

  test("loaded code stays readable and ordinary files writable", async () => {
    const config = await b[route]("file.read", { path: "drost.config.json" })
    expect(config.isError).toBe(false)
    expect(config.output).toContain("providers")
    const note = await b[route]("file.write", { path: `notes/${route}.txt`, content: "fine\n" })
    expect(note.isError).toBe(false)
    expect(readFileSync(join(b.ws.path, "notes", `${route}.txt`), "utf8")).toBe("fine\n")
  })
})
