import { afterEach, describe, expect, test } from "bun:test"
import { rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs"
import { open } from "../../src/store/db.ts"
import { createMemoryIndex } from "../../src/memory/index.ts"
import { createNotes } from "../../src/memory/notes.ts"
import { memoryTools } from "../../src/tool/builtin/memory.ts"
import { createToolRegistry } from "../../src/tool/registry.ts"
import { Log } from "../../src/util/log.ts"
import { workspace } from "../lib/workspace.ts"

const log = Log.create("test")
const closers: (() => void)[] = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

async function setup(files: Record<string, string>, options: { watch?: boolean } = {}) {
  const ws = await workspace({
    files: Object.fromEntries(Object.entries(files).map(([path, text]) => [`memory/${path}`, text])),
  })
  const db = open(":memory:")
  const index = createMemoryIndex({ db, dir: ws.file("memory"), rescanMs: 0, log, watch: options.watch })
  index.rescan()
  const notes = createNotes(ws.file("memory"))
  const tools = createToolRegistry({ timeoutMs: 5_000, outputLimit: 10_000, log })
  for (const tool of memoryTools({ index, notes })) tools.register(tool)
  const run = (name: string, args: unknown) =>
    tools.run({
      name,
      args,
      context: {
        sessionId: "s",
        turnId: "t",
        callId: "c",
        workspace: { root: ws.path, tools: "", memory: ws.file("memory"), prompts: "" },
        signal: new AbortController().signal,
      },
    })
  closers.push(() => {
    index.close()
    db.close()
    rmSync(ws.path, { recursive: true, force: true })
  })
  return { ws, db, index, notes, run }
}

describe("memory index", () => {
  test("search is ranked, carries snippets and titles, and the note with more hits wins", async () => {
    const { index } = await setup({
      "2025-01-02.md": "# Thursday\nCalled the plumber about the boiler. Boiler pressure is low.\n",
      "people/alice.md": "# Alice\nAlice likes green tea and hates meetings before ten.\n",
      "projects/boiler.md":
        "# Boiler replacement\nThe boiler is 20 years old; quotes for a new boiler due in March. Boiler boiler.\n",
    })
    const hits = await index.search("boiler")
    expect(hits.map((hit) => hit.path)).toEqual(["projects/boiler.md", "2025-01-02.md"])
    expect(hits[0]!.title).toBe("Boiler replacement")
    expect(hits[0]!.snippet).toContain("**boiler**")
    expect((await index.search("green tea"))[0]!.path).toBe("people/alice.md")
    // porter stemming: "meeting" finds "meetings"
    expect((await index.search("meeting"))[0]!.path).toBe("people/alice.md")
  })

  test("queries with hyphens, quotes and FTS operators never error", async () => {
    const { index, run } = await setup({ "a.md": "well-known e-mail address: NEAR the col:x value AND more\n" })
    for (const query of [
      "well-known",
      '"unbalanced',
      "AND",
      "OR NOT",
      "col:x",
      "*",
      "(",
      "NEAR(",
      "e-mail*",
      "a\"b'c",
      "^start",
      "- -",
      "🙂",
    ]) {
      await index.search(query)
      const result = await run("memory.search", { query })
      expect(result.isError).toBe(false)
    }
    expect((await index.search("well-known")).length).toBe(1)
    expect((await index.search('"e-mail')).length).toBe(1)
    // any-word fallback when no note has every word
    expect((await index.search("address zebra")).length).toBe(1)
  })

  test("a person's edit, new note and deletion are found on the next search", async () => {
    const { ws, index } = await setup({ "ideas.md": "# Ideas\nbuild a treehouse\n" })
    expect(await index.search("kayak")).toEqual([])
    writeFileSync(ws.file("memory/ideas.md"), "# Ideas\nbuild a treehouse\nbuy a kayak\n")
    expect((await index.search("kayak")).map((hit) => hit.path)).toEqual(["ideas.md"])
    writeFileSync(ws.file("memory/new.md"), "sailing lessons\n")
    expect((await index.search("sailing")).map((hit) => hit.path)).toEqual(["new.md"])
    unlinkSync(ws.file("memory/ideas.md"))
    expect(await index.search("kayak")).toEqual([])
    expect(index.count()).toBe(1)
  })

  test("without a watcher every search rescans; a touched file with the same content is not re-indexed", async () => {
    const { ws, index } = await setup({ "a.md": "alpha\n" }, { watch: false })
    writeFileSync(ws.file("memory/a.md"), "alpha beta\n")
    expect((await index.search("beta")).length).toBe(1)
    utimesSync(ws.file("memory/a.md"), new Date(), new Date(Date.now() + 5_000))
    expect(index.rescan()).toBe(0)
  })
})

describe("memory tools", () => {
  test("memory.write appends to today's note or a named note, and the index follows at once", async () => {
    const { ws, notes, run } = await setup({})
    const first = await run("memory.write", { text: "The user's cat is called Miso." })
    expect(first).toMatchObject({ isError: false, output: `appended to memory/${notes.today()}` })
    await run("memory.write", { text: "Prefers answers in German." })
    const today = await Bun.file(ws.file(`memory/${notes.today()}`)).text()
    expect(today).toMatch(
      /^# \d{4}-\d{2}-\d{2}\n\n## \d\d:\d\d\nThe user's cat is called Miso\.\n\n## \d\d:\d\d\nPrefers answers in German\.\n$/,
    )
    await run("memory.write", { text: "- birthday 12 May", file: "people/bob" })
    expect(await Bun.file(ws.file("memory/people/bob.md")).text()).toBe("- birthday 12 May\n")
    const found = await run("memory.search", { query: "Miso cat" })
    expect(found.output).toContain(notes.today())
    expect((await run("memory.search", { query: "birthday" })).output).toContain("people/bob.md")
    const got = await run("memory.get", { path: "people/bob.md" })
    expect(got.output).toBe("people/bob.md (2 lines)\n   1  - birthday 12 May\n   2  ")
  })

  test("notes cannot be written or read outside memory/", async () => {
    const { run } = await setup({})
    const outside = await run("memory.write", { text: "x", file: "../drost.config" })
    expect(outside.isError).toBe(true)
    expect(outside.output).toMatch(/outside the/)
    const read = await run("memory.get", { path: "../../etc/passwd" })
    expect(read.isError).toBe(true)
    expect((await run("memory.get", { path: "missing.md" })).output).toContain("no note missing.md")
  })
})
