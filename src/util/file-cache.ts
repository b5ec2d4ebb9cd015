/**
 * Small text files read at every turn (the system prompt, the persona files, today's memory notes), kept
 * in memory and read again only after they change. Whether one may have changed is asked of the kernel:
 * the folder holding it is watched with inotify (util/inotify.ts, which queues an event inside the
 * write itself), so a file whose folder had no event since it was last looked at is answered from
 * memory. The queue is read by `refresh()`, once per batch of reads (a turn's prompt reads seven files:
 * one empty read of the queue instead of seven stat calls and their objects).
 *
 * Where the watch cannot be trusted the file is stat'ed at every read, as before, and its mtime and
 * size (and inode) decide: no inotify (not Linux), a folder on a filesystem whose changes can come from elsewhere
 * (NFS, FUSE, 9p), a folder that is missing or cannot be watched (asked again at most every second),
 * and a symlinked file (its target may be anywhere).
 *
 * One inotify instance serves the whole process (the kernel allows 128 per user by default). A folder's
 * watch ends when the folder is deleted or moved, which drops what was kept of its files.
 */
import { lstatSync, readFileSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { IN_DELETE_SELF, IN_IGNORED, IN_MOVE_SELF, IN_Q_OVERFLOW, type Inotify, inotify } from "./inotify.ts"

/** A watched folder; `generation` counts the events seen in it. */
interface Folder {
  path: string
  wd: number
  generation: number
}

interface Kept {
  folder: string
  stamp: string
  text: string | null
  /** The watched folder and its generation when the file was last looked at; null: stat at every read. */
  watched: Folder | null
  generation: number
}

/** How long a folder that could not be watched is left before trying again (it is stat'ed meanwhile). */
const RETRY_MS = 1000
/** Refused folders remembered at most (a folder not remembered is simply tried again). */
const MAX_REFUSED = 256

let notify: Inotify | null | undefined
const folders = new Map<string, Folder>()
const byWd = new Map<number, Folder[]>()
const refused = new Map<string, number>()

const forget = (wd: number) => {
  for (const folder of byWd.get(wd) ?? []) {
    folder.wd = -1
    folder.generation++
    if (folders.get(folder.path) === folder) folders.delete(folder.path)
  }
  byWd.delete(wd)
}

/** Read the queue: every change made before this call is counted. */
function drain(watch: Inotify) {
  watch.drain((wd, mask) => {
    if (wd === -1) {
      if (mask & IN_Q_OVERFLOW) for (const folder of folders.values()) folder.generation++
      return
    }
    const watchers = byWd.get(wd)
    if (!watchers) return
    if (mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
      // Moved: the watch would follow the folder to its new name; this path is no longer it.
      if (mask & IN_MOVE_SELF) watch.remove(wd)
      forget(wd)
    } else for (const folder of watchers) folder.generation++
  })
}

/** The watched folder `path`, watching it first when it is not yet; null when it cannot be trusted. */
function folderOf(watch: Inotify, path: string): Folder | null {
  const known = folders.get(path)
  if (known) return known
  const now = Date.now()
  if ((refused.get(path) ?? 0) > now) return null
  refused.delete(path)
  const wd = watch.local(path) ? watch.add(path) : -1
  if (wd < 0) {
    // Bounded: past entries are dropped once many folders were refused (each is only a retry time).
    if (refused.size >= MAX_REFUSED) for (const [other, until] of refused) if (until <= now) refused.delete(other)
    if (refused.size < MAX_REFUSED) refused.set(path, now + RETRY_MS)
    return null
  }
  const folder: Folder = { path, wd, generation: 0 }
  folders.set(path, folder)
  byWd.set(wd, [...(byWd.get(wd) ?? []), folder])
  return folder
}

export interface FileCache {
  /** Look at the kernel's queue: the reads that follow see every change made before this call. */
  refresh(): void
  /** The text of `file` (null when it is missing or unreadable), as of the last `refresh()`. */
  read(file: string): string | null
}

/** A reader of small text files that reads a file again only after it changed. */
export function createFileCache(): FileCache {
  notify ??= inotify()
  const watch = notify
  const kept = new Map<string, Kept>()
  return {
    refresh() {
      if (watch) drain(watch)
    },
    read(file) {
      const hit = kept.get(file)
      const folder = hit?.folder ?? dirname(file)
      // The watch goes on before the stat below: a change after the stat is in the queue.
      const watched = watch ? folderOf(watch, folder) : null
      if (watched && hit?.watched === watched && hit.generation === watched.generation) return hit.text
      const generation = watched?.generation ?? 0
      const own = lstatSync(file, { throwIfNoEntry: false })
      const link = own?.isSymbolicLink() ?? false
      const info = link ? statSync(file, { throwIfNoEntry: false }) : own
      const stamp = info?.isFile() ? `${info.ino}:${info.mtimeMs}:${info.size}` : "missing"
      if (hit && hit.stamp === stamp) {
        hit.watched = link ? null : watched
        hit.generation = generation
        return hit.text
      }
      let text: string | null = null
      if (stamp !== "missing") {
        try {
          text = readFileSync(file, "utf8")
        } catch {
          text = null
        }
      }
      kept.set(file, { folder, stamp, text, watched: link ? null : watched, generation })
      return text
    },
  }
}
