/**
 * Memory reaches the disk through the workspace access rules too. Bun's recursive readdir follows
 * symlinked folders, so a link in memory/ (one `ln -s` in the shell) put any Markdown file on the disk
 * into the index, and memory.search handed out its text. Now links are neither listed nor read, and
 * memory.get/memory.write stay inside memory/.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Bench, bench, SECRET } from "../security/lib.ts"

let b: Bench

beforeAll(async () => {
  b = await bench({}, { "memory/garden.md": "# Garden\nplant tomatoes in May\n" })
  mkdirSync(join(b.outside, "diary"), { recursive: true })
  writeFileSync(join(b.outside, "diary", "private.md"), `# Private\ntomatoes ${SECRET}-diary\n`)
  writeFileSync(join(b.outside, "single.md"), `# Single\ntomatoes ${SECRET}-single\n`)
  symlinkSync(join(b.outside, "diary"), join(b.ws.path, "memory", "linked"))
  symlinkSync(join(b.outside, "single.md"), join(b.ws.path, "memory", "single.md"))
  symlinkSync(join(b.ws.path, ".drost"), join(b.ws.path, "memory", "state"))
})
afterAll(async () => {
  await b?.[Symbol.asyncDispose]()
})

test.each(["viaApi", "viaModel"] as const)(
  "memory.search never indexes a note through a symlink (%s)",
  async (route) => {
    const search = await b[route]("memory.search", { query: "tomatoes" })
    expect(search.output).toContain("garden.md")
    expect(search.output).not.toContain("5c1e9a")
    expect(search.output).not.toMatch(/linked\/|single\.md|state\//)
    const state = await b[route]("memory.search", { query: "5c1e9a" })
    expect(state.output).not.toContain(SECRET)
    for (const path of ["linked/private.md", "single.md", "state/planted.txt", "../.drost/control-token"]) {
      const get = await b[route]("memory.get", { path })
      expect(get.output).not.toContain(SECRET)
      expect(get.output).toMatch(/outside the roots|refused|no note/)
    }
    const write = await b[route]("memory.write", { text: "pwned", file: "linked/private" })
    expect(write.output).toMatch(/outside the roots/)
  },
)
