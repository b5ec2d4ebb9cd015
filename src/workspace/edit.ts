/**
 * Writing workspace files: create or replace (`writeFile`), exact search and replace (`editFile`) and
 * delete (`deleteFile`), each through an access object, so the file tools and evolution apply the same
 * rules. A write opens the parent folder race-free (open.ts), checks the real target against the roots
 * and the boundary, creates a temp file inside that handle (O_EXCL|O_NOFOLLOW) and renames it over the
 * name, so the content is never half-written and nothing is ever created outside the roots.
 * Results are sentences for the model; failures throw with what to do next.
 */
import { constants, lstatSync, openSync, renameSync, type Stats, unlinkSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import type { Access } from "./access.ts"
import { closeFd, type Dir, kindOf, openDir, openIn, readAll } from "./open.ts"
import { RootError } from "./roots.ts"

export const MAX_WRITE_BYTES = 5 * 1024 * 1024
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants

function entry(dir: Dir, name: string): Stats | null {
  try {
    return lstatSync(dir.at(name))
  } catch {
    return null
  }
}

/** Open the parent of `path` for writing and check the real target; `fn` gets the folder and name. */
function inParent<T>(access: Access, path: string, create: boolean, fn: (dir: Dir, name: string, abs: string) => T): T {
  const abs = access.resolve(path, "write")
  const dir = openDir(access, dirname(abs), "write", create, path)
  try {
    const name = basename(abs)
    access.check(join(dir.path, name), "write", path)
    return fn(dir, name, abs)
  } finally {
    dir.close()
  }
}

function replaceIn(dir: Dir, name: string, content: string, before: Stats | null, shown: string) {
  const temp = `.${name.slice(0, 180)}.drost-${process.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`
  const mode = before ? before.mode & 0o7777 : 0o666
  const fd = openSync(dir.at(temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
  try {
    const bytes = Buffer.from(content)
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at)
  } catch (error) {
    closeFd(fd)
    unlinkSync(dir.at(temp))
    throw new RootError(`cannot write ${shown}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
  closeFd(fd)
  try {
    renameSync(dir.at(temp), dir.at(name))
  } catch (error) {
    unlinkSync(dir.at(temp))
    throw new RootError(`cannot write ${shown}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
}

/** What `before` (the current entry at the target) allows: only a regular file may be replaced. */
function replaceable(before: Stats | null, shown: string) {
  if (!before || before.isFile()) return
  if (before.isSymbolicLink())
    throw new RootError(`"${shown}" changed into a symbolic link while it was opened; refused`)
  throw new RootError(`${shown} is ${kindOf(before)}; only regular files are written`)
}

const lineCount = (text: string) => (text === "" ? 0 : text.split("\n").length)

/** Create or overwrite `path` with `content`; parent folders are created inside the roots. */
export function writeFile(access: Access, path: string, content: string): string {
  if (content.length > MAX_WRITE_BYTES)
    throw new RootError(`content is ${content.length} characters; at most ${MAX_WRITE_BYTES} are written`)
  return inParent(access, path, true, (dir, name, abs) => {
    const before = entry(dir, name)
    replaceable(before, path)
    replaceIn(dir, name, content, before, path)
    return `${before ? "overwrote" : "created"} ${access.show(abs)} (${lineCount(content)} lines, ${Buffer.byteLength(content)} bytes)`
  })
}

function count(haystack: string, needle: string): number {
  let n = 0
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) n++
  return n
}

export interface Edit {
  /** Exact text to find (whitespace included). */
  search: string
  replace: string
  /** Replace every occurrence; otherwise exactly one must exist. */
  all?: boolean
}

/** Replace `search` by `replace` in `path`, which must exist. */
export function editFile(access: Access, path: string, edit: Edit): string {
  const { search, replace, all = false } = edit
  if (!search) throw new RootError("the search text is empty; give the exact text to replace")
  return inParent(access, path, false, (dir, name, abs) => {
    const before = entry(dir, name)
    if (!before) throw new RootError(`no such file: ${path}; use file.write to create it`)
    replaceable(before, path)
    const file = openIn(access, dir, name, "write", path)
    let text: string
    try {
      text = new TextDecoder().decode(readAll(file, MAX_WRITE_BYTES, path))
    } finally {
      closeFd(file.fd)
    }
    const found = count(text, search)
    if (found === 0)
      throw new RootError(
        `the search text was not found in ${path}; read the file and copy the exact text (whitespace included)`,
      )
    if (found > 1 && !all)
      throw new RootError(
        `the search text occurs ${found} times in ${path}; add surrounding lines to make it unique, or set all: true`,
      )
    const next = all ? text.split(search).join(replace) : text.replace(search, () => replace)
    if (next.length > MAX_WRITE_BYTES)
      throw new RootError(`the edit would make ${path} larger than ${MAX_WRITE_BYTES} bytes`)
    replaceIn(dir, name, next, before, path)
    const line = text.slice(0, text.indexOf(search)).split("\n").length
    return `edited ${access.show(abs)}: ${all ? found : 1} replacement${found > 1 && all ? "s" : ""}, first at line ${line}`
  })
}

/** Delete the file `path` (resolved like every path: a symlink inside the roots names its target). Folders are refused. */
export function deleteFile(access: Access, path: string): string {
  return inParent(access, path, false, (dir, name, abs) => {
    const before = entry(dir, name)
    if (!before) throw new RootError(`cannot delete ${path}: no such file`)
    if (before.isDirectory()) throw new RootError(`cannot delete ${path}: it is a folder; delete its files one by one`)
    unlinkSync(dir.at(name))
    return `deleted ${access.show(abs)}`
  })
}
