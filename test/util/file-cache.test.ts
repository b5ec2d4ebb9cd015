/**
 * The prompt's file cache (src/util/file-cache.ts) answers unchanged files from memory and must still see
 * every change made before a `refresh()`: in the watched folder, to a symlinked file's target elsewhere,
 * in a folder deleted and made again, and in a folder that did not exist at the first read.
 */
import { afterEach, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createFileCache } from "../../src/util/file-cache.ts"

const dirs: string[] = []
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "drost-file-cache-"))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const look = (cache: ReturnType<typeof createFileCache>, file: string) => {
  cache.refresh()
  return cache.read(file)
}

test("an edit, a new file, a removal and an atomic replace are seen by the next read", () => {
  const dir = temp()
  const file = join(dir, "SOUL.md")
  const cache = createFileCache()
  expect(look(cache, file)).toBeNull()
  writeFileSync(file, "one")
  expect(look(cache, file)).toBe("one")
  expect(look(cache, file)).toBe("one")
  writeFileSync(file, "two, longer")
  expect(look(cache, file)).toBe("two, longer")
  writeFileSync(`${file}.tmp`, "three, by rename")
  renameSync(`${file}.tmp`, file)
  expect(look(cache, file)).toBe("three, by rename")
  rmSync(file)
  expect(look(cache, file)).toBeNull()
})

test("a symlinked file is followed to its target, wherever that is edited", () => {
  const here = temp()
  const elsewhere = temp()
  const target = join(elsewhere, "persona.md")
  writeFileSync(target, "first")
  const link = join(here, "AGENTS.md")
  symlinkSync(target, link)
  const cache = createFileCache()
  expect(look(cache, link)).toBe("first")
  writeFileSync(target, "second, edited at the target")
  expect(look(cache, link)).toBe("second, edited at the target")
})

test("a folder deleted and made again, and one that appears after the first read", () => {
  const root = temp()
  const folder = join(root, "prompts")
  mkdirSync(folder)
  const file = join(folder, "system.md")
  writeFileSync(file, "before")
  const cache = createFileCache()
  expect(look(cache, file)).toBe("before")
  rmSync(folder, { recursive: true })
  expect(look(cache, file)).toBeNull()
  mkdirSync(folder)
  writeFileSync(file, "after")
  expect(look(cache, file)).toBe("after")

  const later = join(root, "memory", "2026-12-03.md")
  expect(look(cache, later)).toBeNull()
  mkdirSync(join(root, "memory"))
  writeFileSync(later, "a note")
  expect(look(cache, later)).toBe("a note")
  writeFileSync(later, "a note, and another line")
  expect(look(cache, later)).toBe("a note, and another line")
})

test("a folder moved away and another put at its path", () => {
  const root = temp()
  const folder = join(root, "ws")
  mkdirSync(folder)
  const file = join(folder, "USER.md")
  writeFileSync(file, "old workspace")
  const cache = createFileCache()
  expect(look(cache, file)).toBe("old workspace")
  renameSync(folder, join(root, "ws-moved"))
  mkdirSync(folder)
  writeFileSync(file, "new workspace")
  expect(look(cache, file)).toBe("new workspace")
  // The moved folder's edits no longer concern this path.
  writeFileSync(join(root, "ws-moved", "USER.md"), "edited after the move")
  expect(look(cache, file)).toBe("new workspace")
})
