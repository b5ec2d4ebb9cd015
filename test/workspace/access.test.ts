/**
 * The access object's contract as evolution and memory use it, straight against a real folder: the
 * evolution access (`code: true`) writes, edits and deletes loaded code but never a secret; the file
 * tools' access refuses loaded code naming evolve; a path that is not a regular file is refused before
 * any read; memory notes go through the same rules.
 */
import { afterEach, beforeEach, expect, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { createNotes } from "../../src/memory/notes.ts"
import { createAccess } from "../../src/workspace/access.ts"
import { boundaryOf } from "../../src/workspace/boundary.ts"
import { deleteFile, editFile, writeFile } from "../../src/workspace/edit.ts"
import { listDir, readBytes } from "../../src/workspace/open.ts"
import { type Workspace, workspace } from "../lib/workspace.ts"

let ws: Workspace

beforeEach(async () => {
  ws = await workspace({
    files: { "tools/a.ts": "export const a = 1\n", ".drost/control-token": "tok\n", "x.txt": "x\n" },
  })
})
afterEach(async () => {
  await ws[Symbol.asyncDispose]()
})

const boundary = () => boundaryOf({ workspaceDir: ws.path, stateDir: join(ws.path, ".drost") })

test("evolution's access changes loaded code and never a secret", () => {
  const evolution = createAccess({ read: [ws.path], write: [ws.path], boundary: boundary(), code: true })
  expect(writeFile(evolution, "tools/b.ts", "export const b = 2\n")).toBe("created tools/b.ts (2 lines, 19 bytes)")
  expect(editFile(evolution, "tools/a.ts", { search: "1", replace: "3" })).toContain("edited tools/a.ts")
  expect(readFileSync(ws.file("tools/a.ts"), "utf8")).toBe("export const a = 3\n")
  expect(deleteFile(evolution, "tools/b.ts")).toBe("deleted tools/b.ts")
  expect(existsSync(ws.file("tools/b.ts"))).toBe(false)
  expect(() => writeFile(evolution, ".drost/control-token", "mine")).toThrow(/refused/)
  expect(() => deleteFile(evolution, ".drost/control-token")).toThrow(/refused/)
  expect(() => writeFile(evolution, ".env", "K=v")).toThrow(/refused/)
  expect(() => deleteFile(evolution, "tools")).toThrow(/is a folder/)
  expect(readFileSync(ws.file(".drost/control-token"), "utf8")).toBe("tok\n")
})

test("the file tools' access refuses loaded code naming evolve, and secrets; reads loaded code", () => {
  const tools = createAccess({ read: [ws.path], write: [ws.path], boundary: boundary() })
  expect(() => writeFile(tools, "tools/a.ts", "pwn")).toThrow(/evolve tool/)
  expect(() => deleteFile(tools, "tools/a.ts")).toThrow(/evolve tool/)
  expect(() => readBytes(tools, ".drost/control-token", 100)).toThrow(/private state/)
  expect(new TextDecoder().decode(readBytes(tools, "tools/a.ts", 100).bytes)).toBe("export const a = 1\n")
  expect(
    listDir(tools, ".")
      .entries.map((entry) => entry.name)
      .sort(),
  ).toEqual(["tools", "x.txt"])
  // A write through a folder that is a symlink to the state folder resolves there and is refused.
  symlinkSync(ws.file(".drost"), ws.file("state"))
  expect(() => writeFile(tools, "state/control-token", "pwn")).toThrow(/refused/)
  Bun.spawnSync(["mkfifo", ws.file("fifo")])
  expect(() => readBytes(tools, "fifo", 100)).toThrow("fifo is a FIFO (named pipe); only regular files are read")
  expect(() => writeFile(tools, "fifo", "x")).toThrow(/only regular files are written/)
})

test("memory notes stay in memory/ and never write a credential name", () => {
  const dir = ws.file("memory")
  mkdirSync(dir)
  writeFileSync(join(dir, "people.md"), "# People\n")
  symlinkSync(ws.file(".drost/control-token"), join(dir, "token.md"))
  const notes = createNotes(dir, "UTC", boundary())
  expect(notes.append("alice", "people")).toBe("people.md")
  expect(readFileSync(join(dir, "people.md"), "utf8")).toBe("# People\n\nalice\n")
  expect(() => notes.read("token")).toThrow(/outside the roots/)
  expect(() => notes.append("x", ".env")).toThrow(/refused/)
  expect(() => notes.read("../x.txt")).toThrow(/outside the roots/)
  expect(notes.read("people").text).toContain("alice")
})
