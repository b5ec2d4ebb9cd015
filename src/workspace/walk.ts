/**
 * Walks a folder the way a developer expects a search to: `.gitignore` files (at every level) are
 * honoured, `.git`, `node_modules` and `.drost` are skipped, secret paths (access.ts) are skipped
 * silently and never entered, symlinks are not followed, and the walk stops at a file budget instead of
 * running away on a huge tree. Each folder is opened through its parent's handle without following
 * links (open.ts), so swapping a folder for a symlink mid-walk cannot lead it outside the roots.
 */
import { type Dirent, readdirSync } from "node:fs"
import { join, relative } from "node:path"
import ignore, { type Ignore } from "ignore"
import type { Access } from "./access.ts"
import { closeFd, type Dir, childDir, openDir, openIn, PROC, readAll } from "./open.ts"

const ALWAYS_SKIPPED = new Set([".git", "node_modules", ".drost"])

export interface WalkOptions {
  /** Stop after this many files (the caller reports the walk as truncated). */
  maxFiles: number
  signal?: AbortSignal
}

/** One file found by the walk; `read` is valid until the walk is resumed. */
export interface WalkEntry {
  /** Absolute path. */
  path: string
  /** The file's bytes (at most `max`), or null when it is not a regular file any more or is larger. */
  read(max: number): Uint8Array | null
}

interface Rules {
  base: string
  rules: Ignore
}

function rulesFor(access: Access, dir: Dir): Rules | null {
  try {
    const file = openIn(access, dir, ".gitignore", "read", ".gitignore")
    try {
      const text = new TextDecoder().decode(readAll(file, 1024 * 1024, ".gitignore"))
      return { base: dir.path, rules: ignore().add(text) }
    } finally {
      closeFd(file.fd)
    }
  } catch {
    return null
  }
}

function ignored(stack: Rules[], path: string, isDir: boolean): boolean {
  for (const { base, rules } of stack) {
    const rel = relative(base, path)
    if (rel && rules.ignores(isDir ? `${rel}/` : rel)) return true
  }
  return false
}

/** Yields the files under `root` (canonical, inside the read roots), depth first, in name order. */
export async function* walk(
  access: Access,
  root: string,
  options: WalkOptions,
): AsyncGenerator<WalkEntry, { truncated: boolean }> {
  let count = 0
  const visit = async function* (dir: Dir, stack: Rules[]): AsyncGenerator<WalkEntry, boolean> {
    const own = rulesFor(access, dir)
    const rules = own ? [...stack, own] : stack
    let entries: Dirent[] = []
    try {
      entries = readdirSync(PROC ? `/proc/self/fd/${dir.fd}` : dir.path, { withFileTypes: true })
    } catch {}
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (options.signal?.aborted) return true
      const name = entry.name
      if (ALWAYS_SKIPPED.has(name)) continue
      const path = join(dir.path, name)
      if (access.hidden(path)) continue
      if (entry.isDirectory()) {
        if (ignored(rules, path, true)) continue
        const child = childDir(dir, name)
        if (!child) continue
        try {
          if (yield* visit(child, rules)) return true
        } finally {
          child.close()
        }
      } else if (entry.isFile()) {
        if (ignored(rules, path, false)) continue
        if (++count > options.maxFiles) return true
        yield {
          path,
          read(max) {
            try {
              const file = openIn(access, dir, name, "read", access.show(path))
              try {
                return file.size > max ? null : readAll(file, max, path)
              } finally {
                closeFd(file.fd)
              }
            } catch {
              return null
            }
          },
        }
      }
    }
    return false
  }
  const top = openDir(access, root, "read")
  try {
    const truncated = yield* visit(top, [])
    return { truncated }
  } finally {
    top.close()
  }
}
