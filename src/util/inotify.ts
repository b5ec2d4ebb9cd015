/**
 * Linux inotify through bun:ffi, read without blocking. The kernel queues an event inside the write,
 * rename, unlink or mkdir itself (before that call returns to the process that made it), so whatever was
 * done to a watched folder before `changed()` is called is in the queue `changed()` reads: nothing can
 * come late, unlike `fs.watch`, whose callbacks arrive later through the event loop.
 *
 * inotify only sees changes made through this machine's kernel. On a network or FUSE filesystem (NFS,
 * SMB, sshfs, 9p as under WSL's /mnt, a virtiofs bind mount) a change made elsewhere raises no event, so
 * `local()` admits only filesystems known to be local; the caller does not trust the watch elsewhere.
 * `inotify()` is null where there is none (not Linux, libc not found, bun:ffi unusable).
 */
import { dlopen, FFIType } from "bun:ffi"

const IN_NONBLOCK = 0o4000
const IN_CLOEXEC = 0o2000000
/** Modify, attrib, close-write, moved from/to, create, delete, delete-self, move-self. */
const EVENTS = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
export const IN_Q_OVERFLOW = 0x4000
export const IN_IGNORED = 0x8000
/** The watched folder itself was deleted or moved. */
export const IN_DELETE_SELF = 0x400
export const IN_MOVE_SELF = 0x800
const LIBC = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]

/** statfs f_type of filesystems whose every change goes through this kernel (linux/magic.h). */
const LOCAL = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
  0x3153464a, // jfs
  0x52654973, // reiserfs
  0x3434, // nilfs2
])

const symbols = {
  inotify_init1: { args: [FFIType.i32], returns: FFIType.i32 },
  inotify_add_watch: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  inotify_rm_watch: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  statfs: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
} as const

interface Libc {
  inotify_init1(flags: number): number
  inotify_add_watch(fd: number, path: Uint8Array, mask: number): number
  inotify_rm_watch(fd: number, wd: number): number
  read(fd: number, buffer: Uint8Array, size: number): number | bigint
  close(fd: number): number
  statfs(path: Uint8Array, buffer: BigInt64Array): number
}

let libc: Libc | null | undefined

function openLibc(): Libc | null {
  if (libc !== undefined) return libc
  libc = null
  if (process.platform !== "linux") return null
  for (const name of LIBC) {
    try {
      libc = dlopen(name, symbols).symbols as unknown as Libc
      break
    } catch {}
  }
  return libc
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const cstring = (path: string) => encoder.encode(`${path}\0`)

export interface Inotify {
  /** Watch a folder (following a symlink); its watch descriptor, or -1 (missing, no permission, a limit). */
  add(path: string): number
  /** Stop watching `wd` (its IN_IGNORED is not reported as a change). */
  remove(wd: number): void
  /**
   * Whether anything was queued since the last call (the queue is emptied). An event about an entry
   * `skip(name)` says no scan looks at is not counted, except in folders of `unfiltered` descriptors.
   */
  changed(skip: (name: string) => boolean, unfiltered: ReadonlySet<number>): boolean
  /**
   * Empty the queue, telling `visit` the watch descriptor and mask of each event (names are not decoded);
   * a queue overflow is reported as descriptor -1 with `IN_Q_OVERFLOW`.
   */
  drain(visit: (wd: number, mask: number) => void): void
  /** Whether `path` is on a filesystem whose changes all raise inotify events here. */
  local(path: string): boolean
  close(): void
}

export function inotify(): Inotify | null {
  const c = openLibc()
  if (!c) return null
  const fd = c.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
  if (fd < 0) return null
  const buffer = new Uint8Array(16_384)
  const view = new DataView(buffer.buffer)
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  const stat = new BigInt64Array(16)
  /** Descriptors this side removed: their IN_IGNORED is no change. */
  const removed = new Set<number>()
  let closed = false

  return {
    add: (path) => (closed ? -1 : c.inotify_add_watch(fd, cstring(path), EVENTS)),
    remove(wd) {
      if (closed) return
      if (c.inotify_rm_watch(fd, wd) === 0) removed.add(wd)
    },
    changed(skip, unfiltered) {
      if (closed) return true
      let any = false
      // Read until the queue is empty (a full buffer may mean more is waiting).
      for (;;) {
        const read = Number(c.read(fd, buffer, buffer.length))
        if (read <= 0) return any
        for (let at = 0; at + 16 <= read; ) {
          const wd = view.getInt32(at, little)
          const mask = view.getUint32(at + 4, little)
          const length = view.getUint32(at + 12, little)
          const name = length ? decoder.decode(buffer.subarray(at + 16, at + 16 + length)).replace(/\0+$/, "") : ""
          at += 16 + length
          if (mask & IN_Q_OVERFLOW) any = true
          else if (mask & IN_IGNORED && removed.delete(wd)) continue
          else if (name && skip(name) && !unfiltered.has(wd)) continue
          else any = true
        }
      }
    },
    drain(visit) {
      if (closed) return
      for (;;) {
        const read = Number(c.read(fd, buffer, buffer.length))
        if (read <= 0) return
        for (let at = 0; at + 16 <= read; at += 16 + view.getUint32(at + 12, little)) {
          const wd = view.getInt32(at, little)
          const mask = view.getUint32(at + 4, little)
          // The last event of a descriptor removed here: it is forgotten (only `changed()` did, so a
          // process-wide instance read through `drain` kept one entry per moved folder for good).
          if (mask & IN_IGNORED) removed.delete(wd)
          visit(wd, mask)
        }
      }
    },
    local(path) {
      if (c.statfs(cstring(path), stat) !== 0) return false
      // f_type is the struct's first field, a long (64-bit Linux).
      return LOCAL.has(Number(BigInt.asUintN(32, stat[0]!)))
    },
    close() {
      if (closed) return
      closed = true
      c.close(fd)
    },
  }
}
