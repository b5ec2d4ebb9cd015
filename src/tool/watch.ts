/**
 * Change detection for `tools/` without a stat of every file at every turn. On Linux an inotify
 * descriptor (through bun:ffi, non-blocking) watches `tools/` and each folder under it; `changed()`
 * reads what the kernel queued. The kernel queues an event inside the write, rename or unlink itself,
 * so a file written before the turn started is seen by that turn's `changed()`: no event can arrive
 * late, unlike `fs.watch`, whose callbacks come later through the event loop.
 *
 * `changed()` is true when anything was queued, when the watch is not (yet) complete (tools/ missing,
 * a folder that could not be watched: it then says so until a `rewatch()` watches them all), or where
 * inotify is not available (other systems: the caller scans at every turn, as before). After a change
 * the caller lists the folders, calls `rewatch(dirs)`, then lists and stats the files: a change in a
 * folder made after the first listing is queued on its parent's watch for the next `changed()`.
 */
import { join } from "node:path"

const IN_NONBLOCK = 0o4000
const IN_CLOEXEC = 0o2000000
/** Modify, attrib, close-write, moved from/to, create, delete, delete-self, move-self. */
const EVENTS = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
const LIBC = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]

interface Libc {
  inotify_init1(flags: number): number
  inotify_add_watch(fd: number, path: Uint8Array, mask: number): number
  inotify_rm_watch(fd: number, wd: number): number
  read(fd: number, buffer: Uint8Array, size: number): number | bigint
  close(fd: number): number
}

let libc: Libc | null | undefined

async function openLibc(): Promise<Libc | null> {
  if (libc !== undefined) return libc
  libc = null
  if (process.platform !== "linux") return null
  try {
    const { dlopen, FFIType } = await import("bun:ffi")
    const symbols = {
      inotify_init1: { args: [FFIType.i32], returns: FFIType.i32 },
      inotify_add_watch: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      inotify_rm_watch: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    } as const
    for (const name of LIBC) {
      try {
        libc = dlopen(name, symbols).symbols as unknown as Libc
        break
      } catch {}
    }
  } catch {}
  return libc
}

export interface DirWatch {
  /** Whether `tools/` may have changed since the last `rewatch()` (true when not watching). */
  changed(): boolean
  /** Watch exactly `dirs` (relative to the root; "" is the root itself) from now on. */
  rewatch(dirs: string[]): void
  /** Whether changes are detected by the watch (false: every `changed()` is true). */
  watching(): boolean
  close(): void
}

/** A watch that always says "changed" (no inotify here, or turned off). */
export const NO_WATCH: DirWatch = { changed: () => true, rewatch() {}, watching: () => false, close() {} }

const encoder = new TextEncoder()

export async function watchDir(root: string): Promise<DirWatch> {
  const c = await openLibc()
  if (!c) return NO_WATCH
  const fd = c.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
  if (fd < 0) return NO_WATCH
  const buffer = new Uint8Array(16_384)
  /** Watched folder → watch descriptor. */
  let watched = new Map<string, number>()
  /** False until every folder of the last rewatch() is watched (tools/ missing, a limit reached). */
  let complete = false
  let closed = false

  const drain = (): boolean => {
    let any = false
    // A full buffer may mean more is queued: read until the queue is empty.
    for (;;) {
      const read = Number(c.read(fd, buffer, buffer.length))
      if (read <= 0) return any
      any = true
    }
  }

  return {
    changed() {
      if (closed) return true
      // Always empty the queue, so events already seen by the coming scan do not count again.
      const queued = drain()
      return queued || !complete
    },
    rewatch(dirs) {
      if (closed) return
      // The queue is not emptied here: what happened since changed() makes the next turn scan again.
      const next = new Map<string, number>()
      complete = true
      for (const dir of dirs) {
        const wd = c.inotify_add_watch(fd, encoder.encode(`${join(root, dir)}\0`), EVENTS)
        if (wd < 0) complete = false
        else next.set(dir, wd)
      }
      // Folders gone or moved out of tools/: stop hearing about them (the kernel dropped deleted ones).
      const kept = new Set(next.values())
      for (const [, wd] of watched) if (!kept.has(wd)) c.inotify_rm_watch(fd, wd)
      watched = next
    },
    watching: () => !closed && complete,
    close() {
      if (closed) return
      closed = true
      c.close(fd)
      watched.clear()
    },
  }
}
