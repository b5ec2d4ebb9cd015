/**
 * A hard link is the same file under a second name: a link inside the roots to `.drost/control-token`
 * passes every path check. Nothing the model runs can make one (the sandbox hides the state folder),
 * but a file opened for a tool with more than one link is still compared, by device and inode, with
 * the files of the secret paths. Only such files pay for the look-up (a few hundred lstat calls,
 * cached briefly): ordinary files have one link.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs"
import { join } from "node:path"
import type { Boundary } from "./boundary.ts"

/** Enough for the state folder's own files and one level below; its git objects are not tokens. */
const MAX_ENTRIES = 5000
const TTL_MS = 2000

const cache = new WeakMap<Boundary, { at: number; ids: Set<string> }>()

function collect(boundary: Boundary): Set<string> {
  const ids = new Set<string>()
  let budget = MAX_ENTRIES
  const visit = (path: string, depth: number) => {
    if (budget-- <= 0) return
    let info: Stats
    try {
      info = lstatSync(path)
    } catch {
      return
    }
    if (info.isFile()) ids.add(`${info.dev}:${info.ino}`)
    else if (info.isDirectory() && depth < 2)
      for (const name of (() => {
        try {
          return readdirSync(path)
        } catch {
          return []
        }
      })())
        visit(join(path, name), depth + 1)
  }
  for (const path of boundary.secret) visit(path, 0)
  return ids
}

/** Whether the open file `info` (with more than one link) is one of the secret files. */
export function secretLinked(boundary: Boundary, info: Stats): boolean {
  if (info.nlink <= 1) return false
  let entry = cache.get(boundary)
  if (!entry || performance.now() - entry.at > TTL_MS) {
    entry = { at: performance.now(), ids: collect(boundary) }
    cache.set(boundary, entry)
  }
  return entry.ids.has(`${info.dev}:${info.ino}`)
}
