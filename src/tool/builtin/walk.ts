/**
 * Walks a folder the way a developer expects a search to: `.gitignore` files (at every level) are
 * honoured, `.git`, `node_modules` and `.drost` are skipped, symlinks are not followed (so a walk never
 * leaves the roots), and the walk stops at a file budget instead of running away on a huge tree.
 */
import { readFileSync } from "node:fs"
import { readdir } from "node:fs/promises"
import { join, relative } from "node:path"
import ignore, { type Ignore } from "ignore"

const ALWAYS_SKIPPED = new Set([".git", "node_modules", ".drost"])

export interface WalkOptions {
  /** Stop after this many files (the caller reports the walk as truncated). */
  maxFiles: number
  signal?: AbortSignal
}

interface Rules {
  base: string
  rules: Ignore
}

function rulesFor(dir: string): Rules | null {
  try {
    const text = readFileSync(join(dir, ".gitignore"), "utf8")
    return { base: dir, rules: ignore().add(text) }
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

/** Yields absolute file paths under `root`, depth first, in name order. */
export async function* walk(root: string, options: WalkOptions): AsyncGenerator<string, { truncated: boolean }> {
  let count = 0
  const visit = async function* (dir: string, stack: Rules[]): AsyncGenerator<string, boolean> {
    const own = rulesFor(dir)
    const rules = own ? [...stack, own] : stack
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (options.signal?.aborted) return true
      if (ALWAYS_SKIPPED.has(entry.name)) continue
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (ignored(rules, path, true)) continue
        if (yield* visit(path, rules)) return true
      } else if (entry.isFile()) {
        if (ignored(rules, path, false)) continue
        if (++count > options.maxFiles) return true
        yield path
      }
    }
    return false
  }
  const truncated = yield* visit(root, [])
  return { truncated }
}
