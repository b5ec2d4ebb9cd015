/**
 * The tools/ folder is listed again only after a change (src/tool/folder.ts, inotify in src/util/inotify.ts), and
 * a change made just before a check is always seen by that check: each case below changes the folder
 * and reads it at once, with no await in between, so nothing can depend on an event arriving later.
 * The same cases run where the watch cannot be used (no inotify, or a filesystem whose changes can
 * come from elsewhere): then every read scans. Then the same through the gateway: each change is
 * used by the very next turn.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { type Scan, scan, toolsFolder } from "../../src/tool/folder.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"
import { type InProcess, inProcess } from "./lib.ts"

const modes = [
  { name: "watched (inotify)", options: {}, watching: process.platform === "linux" },
  { name: "not watched (watch: false)", options: { watch: false }, watching: false },
  { name: "on a filesystem not known to be local", options: { local: () => false }, watching: false },
]

describe.each(modes)("tools/ folder, $name", ({ options, watching }) => {
  let root: string
  let dir: string
  const files = (state: Scan) => state.files.map((file) => relative(dir, file))
  const write = (path: string, text: string) => writeFileSync(join(dir, path), text)

  beforeAll(() => {
    root = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? tmpdir(), "drost-watch-"))
    dir = join(root, "tools")
    mkdirSync(dir)
    write("a.ts", "export default 1\n")
  })
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  test("every change is seen by the next read; a quiet folder is not listed again", () => {
    const folder = toolsFolder(dir, options)
    let state = folder.read()
    expect(files(state)).toEqual(["a.ts"])
    expect(folder.watching()).toBe(watching)
    // Nothing changed: the same listing, not a new one (when watched).
    const again = folder.read()
    expect(again.signature).toBe(state.signature)
    if (watching) expect(again).toBe(state)

    const step = (change: () => void) => {
      const before = state.signature
      change()
      state = folder.read()
      expect(state.signature).not.toBe(before)
      expect(state).toEqual(scan(dir))
      return files(state)
    }

    // Edited in place, same size: only the event (or the mtime) tells.
    expect(step(() => write("a.ts", "export default 2\n"))).toEqual(["a.ts"])
    expect(step(() => write("b.ts", "export default 3\n"))).toEqual(["a.ts", "b.ts"])
    expect(step(() => rmSync(join(dir, "b.ts")))).toEqual(["a.ts"])
    // A new folder and a file in it before any read; then that file edited in place.
    expect(
      step(() => {
        mkdirSync(join(dir, "sub/deeper"), { recursive: true })
        write("sub/deeper/c.ts", "export default 4\n")
      }),
    ).toEqual(["a.ts", "sub/deeper/c.ts"])
    expect(step(() => write("sub/deeper/c.ts", "export default 5\n"))).toEqual(["a.ts", "sub/deeper/c.ts"])
    expect(step(() => renameSync(join(dir, "a.ts"), join(dir, "sub/renamed.ts")))).toEqual([
      "sub/deeper/c.ts",
      "sub/renamed.ts",
    ])
    expect(step(() => renameSync(join(dir, "sub"), join(dir, "moved")))).toEqual([
      "moved/deeper/c.ts",
      "moved/renamed.ts",
    ])
    // The moved folder is still watched under its new name.
    expect(step(() => write("moved/deeper/c.ts", "export default 6\n"))).toEqual([
      "moved/deeper/c.ts",
      "moved/renamed.ts",
    ])
    // A helper (not a tool file) still changes the signature: its users are reloaded.
    expect(step(() => write("moved/x.ts", "export const x = 1\n"))).toContain("moved/x.ts")
    mkdirSync(join(dir, "lib"))
    expect(step(() => write("lib/helper.ts", "export const h = 1\n"))).not.toContain("lib/helper.ts")
    expect(step(() => write("lib/helper.ts", "export const h = 2\n"))).not.toContain("lib/helper.ts")

    // tools/ deleted: nothing; made again: seen, and watched again (an edit in it is seen too).
    expect(step(() => rmSync(dir, { recursive: true }))).toEqual([])
    expect(folder.read().files).toEqual([])
    expect(folder.watching()).toBe(false)
    expect(
      step(() => {
        mkdirSync(dir)
        write("again.ts", "export default 7\n")
      }),
    ).toEqual(["again.ts"])
    expect(folder.watching()).toBe(watching)
    expect(step(() => write("again.ts", "export default 8\n"))).toEqual(["again.ts"])
    folder.close()
  })

  test("dot files and node_modules are not looked at; a symlinked file's target is watched", () => {
    const folder = toolsFolder(dir, options)
    const state = folder.read()
    // An editor's swap file and a package: nothing a scan lists, so no new listing.
    write(".again.ts.swp", "swap")
    mkdirSync(join(dir, "node_modules/pkg"), { recursive: true })
    write("node_modules/pkg/index.js", "export default 1\n")
    const quiet = folder.read()
    expect(quiet.signature).toBe(state.signature)
    if (watching) expect(quiet).toBe(state)

    // A tool file that is a symlink to a file outside tools/: editing the target is seen.
    mkdirSync(join(root, "shared"), { recursive: true })
    writeFileSync(join(root, "shared/linked.ts"), "export default 1\n")
    symlinkSync(join(root, "shared/linked.ts"), join(dir, "linked.ts"))
    const linked = folder.read()
    expect(files(linked)).toContain("linked.ts")
    expect(folder.watching()).toBe(watching)
    writeFileSync(join(root, "shared/linked.ts"), "export default 2\n")
    const edited = folder.read()
    expect(edited.signature).not.toBe(linked.signature)
    expect(edited).toEqual(scan(dir))
    // There every entry counts, even one whose name a scan of tools/ would skip.
    writeFileSync(join(root, "shared/.hidden.ts"), "export default 1\n")
    symlinkSync(join(root, "shared/.hidden.ts"), join(dir, "hidden.ts"))
    const hidden = folder.read()
    writeFileSync(join(root, "shared/.hidden.ts"), "export default 2\n")
    expect(folder.read().signature).not.toBe(hidden.signature)

    // A dangling symlink: its target could appear anywhere, so every read scans while it is there.
    symlinkSync(join(root, "nowhere/late.ts"), join(dir, "late.ts"))
    expect(files(folder.read())).not.toContain("late.ts")
    expect(folder.watching()).toBe(false)
    mkdirSync(join(root, "nowhere"))
    writeFileSync(join(root, "nowhere/late.ts"), "export default 1\n")
    expect(files(folder.read())).toContain("late.ts")
    expect(folder.watching()).toBe(watching)

    // A symlink to a folder above is listed once; one to itself is a dangling one (ELOOP), never a throw.
    symlinkSync(dir, join(dir, "up"))
    expect(files(folder.read())).toEqual(files(scan(dir)))
    expect(folder.watching()).toBe(watching)
    symlinkSync("self.ts", join(dir, "self.ts"))
    expect(files(folder.read())).not.toContain("self.ts")
    expect(folder.watching()).toBe(false)
    rmSync(join(dir, "self.ts"))
    rmSync(join(dir, "up"))
    expect(folder.read()).toEqual(scan(dir))
    expect(folder.watching()).toBe(watching)
    folder.close()
  })
})

describe("tools/ changes reach the next turn through the gateway", () => {
  const tool = (name: string, reply: string) => `import { defineTool } from "drost"
export default defineTool({
  name: ${JSON.stringify(name)},
  description: "test tool ${name}",
  parameters: { type: "object", properties: {} },
  execute: () => ${JSON.stringify(reply)},
})
`
  let ws: Workspace
  let drost: InProcess
  beforeAll(async () => {
    ws = await workspace({ files: { "tools/w.ts": tool("w", "w v1") } })
    drost = await inProcess(ws.path)
  })
  afterAll(async () => {
    await drost[Symbol.asyncDispose]()
    await ws[Symbol.asyncDispose]()
  })

  test("edit in place, add, subfolder, rename, remove, tools/ deleted and made again", async () => {
    expect((await drost.call("w")).output).toBe("w v1")
    expect(drost.gw.toolset.loader.watching()).toBe(process.platform === "linux")
    const generation = drost.gw.toolset.loader.generation()
    // Turns with nothing changed load nothing.
    await drost.call("w")
    expect(drost.gw.toolset.loader.generation()).toBe(generation)

    ws.write("tools/w.ts", tool("w", "w v2"))
    expect((await drost.call("w")).output).toBe("w v2")
    ws.write("tools/n.ts", tool("n", "new"))
    expect((await drost.call("n")).output).toBe("new")
    mkdirSync(ws.file("tools/group/inner"), { recursive: true })
    ws.write("tools/group/inner/s.ts", tool("s", "in a subfolder"))
    expect((await drost.call("s")).output).toBe("in a subfolder")
    ws.write("tools/group/inner/s.ts", tool("s", "edited in the subfolder"))
    expect((await drost.call("s")).output).toBe("edited in the subfolder")
    renameSync(ws.file("tools/n.ts"), ws.file("tools/group/renamed.ts"))
    ws.write("tools/group/renamed.ts", tool("r", "renamed"))
    const renamed = await drost.call("r")
    expect(renamed.output).toBe("renamed")
    expect(renamed.offered).not.toContain("n")
    rmSync(ws.file("tools/group"), { recursive: true })
    const removed = await drost.call("w")
    expect(removed.offered).not.toContain("s")
    expect(removed.offered).not.toContain("r")

    rmSync(ws.file("tools"), { recursive: true })
    const none = await drost.call("w")
    expect(none.isError).toBe(true)
    expect(none.offered).not.toContain("w")
    mkdirSync(ws.file("tools"))
    ws.write("tools/w.ts", tool("w", "w v3"))
    expect((await drost.call("w")).output).toBe("w v3")
    expect(drost.gw.toolset.loader.watching()).toBe(process.platform === "linux")
    ws.write("tools/w.ts", tool("w", "w v4"))
    expect((await drost.call("w")).output).toBe("w v4")
  })
})
