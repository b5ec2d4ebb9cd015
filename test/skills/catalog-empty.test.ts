/**
 * The skills catalog remembers an empty (or absent) skill folder by its own mtime and ctime, so a turn
 * start in a workspace without skills costs one stat instead of a listing (src/skills/catalog.ts). The
 * first skill added to such a folder must still be found by the next refresh, also when the folder
 * changed again within the same file-time tick.
 */
import { afterEach, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createSkillCatalog } from "../../src/skills/catalog.ts"

const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

const write = (root: string, name: string) => {
  mkdirSync(join(root, "skills", name), { recursive: true })
  writeFileSync(
    join(root, "skills", name, "SKILL.md"),
    `---\nname: ${name}\ndescription: The ${name} skill. Use when asked.\n---\n\nDo ${name}.\n`,
  )
}

test("the first skill added to an empty skills/ folder is found by the next refresh", async () => {
  const root = mkdtempSync(join(tmpdir(), "drost-skills-empty-"))
  folders.push(root)
  mkdirSync(join(root, "skills"))
  const catalog = createSkillCatalog({ workspace: root, paths: () => [], disabled: () => [] })
  // Past the one-second window in which a just-changed folder is always listed again.
  await Bun.sleep(1_100)
  expect(catalog.refresh().skills).toEqual([])
  expect(catalog.refresh().skills).toEqual([]) // now answered from the remembered empty folder
  write(root, "first-skill")
  expect(catalog.refresh().skills.map((skill) => skill.name)).toEqual(["first-skill"])
  // Removed and another added right away (the same file-time tick, no wait in between): both seen.
  rmSync(join(root, "skills", "first-skill"), { recursive: true })
  expect(catalog.refresh().skills).toEqual([])
  write(root, "second-skill")
  expect(catalog.refresh().skills.map((skill) => skill.name)).toEqual(["second-skill"])
})

test("a skills/ folder created after the start is found, and so is a configured path that appears later", async () => {
  const root = mkdtempSync(join(tmpdir(), "drost-skills-absent-"))
  folders.push(root)
  const catalog = createSkillCatalog({ workspace: root, paths: () => ["extra"], disabled: () => [] })
  expect(catalog.refresh().skills).toEqual([])
  expect(catalog.refresh().skills).toEqual([])
  write(root, "late-skill")
  mkdirSync(join(root, "extra", "extra-skill"), { recursive: true })
  writeFileSync(
    join(root, "extra", "extra-skill", "SKILL.md"),
    "---\nname: extra-skill\ndescription: From a configured path. Use when asked.\n---\n\nBody.\n",
  )
  expect(catalog.refresh().skills.map((skill) => skill.name)).toEqual(["late-skill", "extra-skill"])
})
