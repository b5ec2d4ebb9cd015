/**
 * What is in the workspace's `tools/` folder, and whether it changed. `scan()` lists it and stats every
 * file (helpers included: editing a helper reloads its users); its signature changes with any file's
 * path, mtime or size. `toolsFolder()` answers the same question at every turn start without that
 * listing while nothing changed: each folder is watched (inotify, util/inotify.ts) before it is listed, so
 * whatever is written, made, renamed or removed before a check is either in the listing or in the
 * queue the check reads. It scans again only after an event, and at every check where the watch
 * cannot be trusted to see everything:
 * - no inotify here (not Linux), or `watch: false`;
 * - `tools/` missing, or a folder that cannot be watched (permissions, the kernel's watch limit);
 * - a folder on a filesystem where changes can come from elsewhere (NFS, SMB, FUSE, 9p: util/inotify.ts);
 * - a dangling symlink (its target may appear anywhere).
 * A symlinked folder is followed (as before) and watched; for a symlinked file the folder of its
 * target is watched too; `tools/` itself a symlink: the folder holding the link is watched too.
 */
import { type Dirent, lstatSync, readdirSync, realpathSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { type Inotify, inotify } from "../util/inotify.ts"

export const TOOL_FILE = /\.(ts|js|mjs)$/
export const HELPER = /(^|\/)(_[^/]*|lib\/.*|.*\.test\.(ts|js|mjs)|.*\.d\.ts)$/

export interface Scan {
  /** Tool files (absolute paths), in the order of their relative paths. */
  files: string[]
  signature: string
}

/** A name no scan looks into or at (dependencies, dot files and folders: editors' swap files). */
export const skipped = (name: string) => name === "node_modules" || name.startsWith(".")

/**
 * Watches a folder before it is listed; false when the watch cannot be trusted for it. `target`: the
 * folder of a symlinked file's target, whose every entry matters (not only the ones a scan lists).
 */
type Watcher = (path: string, target: boolean) => boolean

/** stat/realpath that answer null for a path gone meanwhile, a symlink loop or no permission. */
const stat = (path: string) => {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null
  } catch {
    return null
  }
}
const real = (path: string) => {
  try {
    return realpathSync(path)
  } catch {
    return null
  }
}

function walk(dir: string, watch: Watcher | null): Scan & { complete: boolean } {
  const found: { rel: string; path: string }[] = []
  let complete = true
  const seen = new Set<string>()
  const mark = (ok: boolean) => {
    if (!ok) complete = false
  }
  if (watch) {
    let link = false
    try {
      link = lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() ?? false
    } catch {}
    if (link) mark(watch(dirname(dir), true))
  }

  const visit = (path: string, rel: string) => {
    const resolved = real(path)
    if (resolved === null) {
      mark(false)
      return
    }
    // A symlink back up the tree is listed once.
    if (seen.has(resolved)) return
    seen.add(resolved)
    if (watch) mark(watch(path, false))
    let entries: Dirent[]
    try {
      entries = readdirSync(path, { withFileTypes: true })
    } catch {
      mark(false)
      return
    }
    for (const entry of entries) {
      if (skipped(entry.name)) continue
      const child = join(path, entry.name)
      const childRel = rel ? `${rel}/${entry.name}` : entry.name
      let folder = entry.isDirectory()
      if (entry.isSymbolicLink() || !(folder || entry.isFile())) {
        const info = stat(child)
        if (!info) {
          // Dangling (or a loop): what it points at may be made anywhere, so no watch can be trusted.
          if (entry.isSymbolicLink()) mark(false)
          continue
        }
        folder = info.isDirectory()
        if (info.isFile() && entry.isSymbolicLink() && watch) {
          const target = real(child)
          mark(target !== null && watch(dirname(target), true))
        }
      }
      if (folder) visit(child, childRel)
      else found.push({ rel: childRel, path: child })
    }
  }
  visit(dir, "")

  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
  const parts: string[] = []
  const files: string[] = []
  for (const item of found) {
    const info = stat(item.path)
    if (!info?.isFile()) continue
    parts.push(`${item.rel}:${info.mtimeMs}:${info.size}`)
    if (TOOL_FILE.test(item.rel) && !HELPER.test(item.rel)) files.push(item.path)
  }
  return { files, signature: parts.join("|"), complete }
}

/** Every file under `dir` with its mtime and size (skipping node_modules and dot entries), listed now. */
export function scan(dir: string): Scan {
  const { files, signature } = walk(dir, null)
  return { files, signature }
}

export interface ToolsFolderOptions {
  /** Watch for changes (default true); false: every `read()` scans. */
  watch?: boolean
  /** Whether a folder's filesystem reports every change (default: util/inotify.ts's list of local ones). */
  local?: (path: string) => boolean
}

export interface ToolsFolder {
  /** `tools/` as it is now: the last scan while the watch saw nothing, else a new one (`force`: always). */
  read(force?: boolean): Scan
  /** Whether the last `read()` left every folder watched (false: the next one scans again). */
  watching(): boolean
  close(): void
}

export function toolsFolder(dir: string, options: ToolsFolderOptions = {}): ToolsFolder {
  let notify: Inotify | null | undefined = options.watch === false ? null : undefined
  let last: Scan | null = null
  let complete = false
  /** Watch descriptors of the last scan, and those of symlink-target folders among them. */
  let watched = new Set<number>()
  let unfiltered = new Set<number>()
  const local = options.local ?? ((path: string) => notify?.local(path) ?? false)

  return {
    read(force = false) {
      if (notify === undefined) notify = inotify()
      // Emptied first: what changes from here on is in the scan below, or queued for the next read.
      const changed = notify ? notify.changed(skipped, unfiltered) : true
      if (last && complete && !changed && !force) return last
      if (!notify) {
        last = scan(dir)
        return last
      }
      const watcher = notify
      const now = new Set<number>()
      const targets = new Set<number>()
      const result = walk(dir, (path, target) => {
        const wd = watcher.add(path)
        if (wd < 0) return false
        now.add(wd)
        if (target) targets.add(wd)
        return local(path)
      })
      // Folders gone, or moved out of tools/: not heard about any more.
      for (const wd of watched) if (!now.has(wd)) watcher.remove(wd)
      watched = now
      unfiltered = targets
      complete = result.complete
      last = { files: result.files, signature: result.signature }
      return last
    },
    watching: () => Boolean(notify) && complete,
    close() {
      notify?.close()
      notify = null
      complete = false
    },
  }
}
