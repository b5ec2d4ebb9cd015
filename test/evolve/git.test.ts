/**
 * Restoring a checkpoint (src/evolve/git.ts) on a real folder: empty root folders (a fresh workspace's
 * prompts/ and tools/, where the rollback crashed with EISDIR), a root that is a single file, a removed
 * root folder, files the change created, a file turned into a folder, executable bits and symlinks.
 */
import { expect, test } from "bun:test"
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { createRepo } from "../../src/evolve/git.ts"
import { workspace } from "../lib/workspace.ts"
import { hashRoots } from "./lib.ts"

test("restore puts every root back exactly, empty folders and a single-file root included", async () => {
  await using ws = await workspace({ files: { "drost.config.json": '{"a":1}\n', "tools/a.ts": "export {}\n" } })
  mkdirSync(ws.file("prompts"))
  mkdirSync(ws.file("src/empty"), { recursive: true })
  writeFileSync(ws.file("src/run.sh"), "#!/bin/sh\n")
  chmodSync(ws.file("src/run.sh"), 0o755)
  symlinkSync("run.sh", ws.file("src/link"))
  const roots = ["tools", "prompts", "src", "drost.config.json"]
  const repo = createRepo({ dir: ws.path, gitdir: join(ws.path, ".drost/evolution.git"), roots })
  const before = await repo.checkpoint("checkpoint")
  const folders = repo.folders()
  const hash = hashRoots(ws.path, roots)

  writeFileSync(ws.file("drost.config.json"), "{}")
  writeFileSync(ws.file("prompts/new.md"), "new\n")
  mkdirSync(ws.file("tools/deep/er"), { recursive: true })
  writeFileSync(ws.file("tools/deep/er/x.ts"), "x\n")
  rmSync(ws.file("tools/a.ts"))
  mkdirSync(ws.file("tools/a.ts")) // a folder where a file was
  rmSync(ws.file("src"), { recursive: true })
  await repo.restore(before, folders)

  expect(hashRoots(ws.path, roots)).toBe(hash)
  expect(readFileSync(ws.file("drost.config.json"), "utf8")).toBe('{"a":1}\n')
  expect(existsSync(ws.file("prompts/new.md"))).toBe(false)
  expect(statSync(ws.file("prompts")).isDirectory()).toBe(true)
  expect(existsSync(ws.file("tools/deep"))).toBe(false)
  expect(readFileSync(ws.file("tools/a.ts"), "utf8")).toBe("export {}\n")
  expect(statSync(ws.file("src/empty")).isDirectory()).toBe(true)
  expect(statSync(ws.file("src/run.sh")).mode & 0o111).not.toBe(0)
  expect(lstatSync(ws.file("src/link")).isSymbolicLink()).toBe(true)
  expect(readlinkSync(ws.file("src/link"))).toBe("run.sh")
  expect(await repo.changed()).toEqual([])
})
