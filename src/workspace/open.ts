/**
 * Race-free opening. A path checked and then opened by name can be redirected in between (the audit
 * swapped a folder and a symlink with renameat2 while the file tools ran: 195 of 2,000 reads and 484 of
 * 2,000 writes landed outside the roots). So the check is made on what was opened, not on the name:
 *
 * - Linux: walk from the root one component at a time, each opened with O_NOFOLLOW (|O_DIRECTORY) through
 *   the previous folder's handle (`/proc/self/fd/<fd>/<name>`, which the kernel resolves like openat), so
 *   a symlink anywhere on the way fails the open instead of being followed. The real path of the final
 *   handle (readlink of /proc/self/fd/N) is checked once more against the roots and the boundary. A
 *   write creates its file inside the verified parent's handle, so nothing outside is ever created.
 * - Elsewhere: the same walk by path with lstat, then fstat(fd) must match the checked path (dev/ino).
 *   A narrower window remains there; bubblewrap-free platforms should keep the roots simple.
 *
 * Only regular files are read or replaced: FIFOs, sockets and devices are refused before any read (a
 * FIFO is opened O_NONBLOCK so the open cannot hang) and every descriptor is closed on every path.
 */
import {
  closeSync,
  constants,
  type Dirent,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
} from "node:fs"
import { basename, dirname, join, relative, sep } from "node:path"
import type { Access, Purpose } from "./access.ts"
import { secretLinked } from "./hardlink.ts"
import { RootError } from "./roots.ts"

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants
export const PROC = process.platform === "linux" && existsSync("/proc/self/fd")
const handleOf = (fd: number) => `/proc/self/fd/${fd}`

/** A path that does not exist (callers that create on demand tell this from a refusal). */
export class Missing extends RootError {
  override name = "Missing"
}

/** An open folder: `at(name)` names an entry through the handle (valid until `close`). */
export interface Dir {
  fd: number
  /** The folder's real path when it was opened. */
  path: string
  at(name: string): string
  close(): void
}

export interface OpenedFile {
  fd: number
  /** The real path of the handle. */
  path: string
  size: number
  mtimeMs: number
}

/** What a non-regular entry is, in words, or null for a regular file. */
export function kindOf(info: Stats): string | null {
  if (info.isFile()) return null
  if (info.isDirectory()) return "a folder"
  if (info.isSymbolicLink()) return "a symbolic link"
  if (info.isFIFO()) return "a FIFO (named pipe)"
  if (info.isSocket()) return "a socket"
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device"
  return "not a regular file"
}

const code = (error: unknown) => (error as NodeJS.ErrnoException).code

function close(fd: number) {
  try {
    closeSync(fd)
  } catch {}
}

function dirAt(fd: number, path: string): Dir {
  return { fd, path, at: (name) => (PROC ? `${handleOf(fd)}/${name}` : join(path, name)), close: () => close(fd) }
}

function changed(shown: string): RootError {
  return new RootError(
    `"${shown}" changed while it was opened (a folder on the way is now a symbolic link or a file); refused`,
  )
}

/** Open a child folder of `dir` without following a symlink; null when it is not a folder (any more). */
export function childDir(dir: Dir, name: string): Dir | null {
  const path = join(dir.path, name)
  try {
    if (!PROC && lstatSync(path).isSymbolicLink()) return null
    const fd = openSync(dir.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    if (!PROC) {
      const [a, b] = [fstatSync(fd), lstatSync(path)]
      if (a.dev !== b.dev || a.ino !== b.ino) {
        close(fd)
        return null
      }
    }
    return dirAt(fd, path)
  } catch {
    return null
  }
}

/**
 * Open folder `abs` (canonical) from the deepest root for `purpose` that holds it; with `create`,
 * missing folders are made inside the verified parent.
 */
export function openDir(access: Access, abs: string, purpose: Purpose, create = false, shown = access.show(abs)): Dir {
  const root = access.rootOf(abs, purpose)
  if (!root) throw new RootError(`"${shown}" is outside the roots allowed for ${purpose}ing; refused`)
  let dir: Dir
  try {
    dir = dirAt(openSync(root, O_RDONLY | O_DIRECTORY), root)
  } catch (error) {
    throw new RootError(`cannot open the root ${root}: ${code(error) ?? error}`)
  }
  if (PROC && readlinkSync(handleOf(dir.fd)) !== root) {
    dir.close()
    throw changed(shown)
  }
  const parts = relative(root, abs).split(sep).filter(Boolean)
  for (const name of parts) {
    let next = childDir(dir, name)
    if (!next && create && !existsEntry(dir, name)) {
      try {
        mkdirSync(dir.at(name))
      } catch (error) {
        if (code(error) !== "EEXIST") {
          dir.close()
          throw new RootError(`cannot create the folder ${access.show(join(dir.path, name))}: ${code(error)}`)
        }
      }
      next = childDir(dir, name)
    }
    const problem = next ? null : why(dir, name, shown, access.show(join(dir.path, name)))
    dir.close()
    if (!next) throw problem
    dir = next
  }
  // The real path of what was opened (a folder renamed meanwhile shows up here, and is checked by callers).
  dir.path = realOf(dir.fd, dir.path)
  return dir
}

/** Why `name` in `dir` could not be opened as a folder. */
function why(dir: Dir, name: string, shown: string, entry: string): RootError {
  let info: Stats
  try {
    info = lstatSync(dir.at(name))
  } catch {
    return new Missing(`no such file or folder: ${shown}`)
  }
  if (info.isSymbolicLink()) return changed(shown)
  return new RootError(`${entry} is ${kindOf(info) ?? "a file"}, not a folder`)
}

function existsEntry(dir: Dir, name: string): boolean {
  try {
    lstatSync(dir.at(name))
    return true
  } catch {
    return false
  }
}

/** The real path of an open handle (Linux), else the path it was opened by. */
function realOf(fd: number, path: string): string {
  if (!PROC) return path
  const real = readlinkSync(handleOf(fd))
  return real.endsWith(" (deleted)") ? `${real} (gone)` : real
}

/** Open a regular file inside `dir` for reading; refuses symlinks, FIFOs, sockets, devices, folders. */
export function openIn(access: Access, dir: Dir, name: string, purpose: Purpose, shown: string): OpenedFile {
  const pre = (() => {
    try {
      return lstatSync(dir.at(name))
    } catch {
      return null
    }
  })()
  if (!pre) throw new Missing(`no such file: ${shown}`)
  const before = kindOf(pre)
  if (before === "a symbolic link") throw changed(shown)
  if (before) throw new RootError(`${shown} is ${before}; only regular files are read`)
  let fd: number
  try {
    fd = openSync(dir.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
  } catch (error) {
    if (code(error) === "ELOOP") throw changed(shown)
    throw new RootError(`cannot open ${shown}: ${code(error) ?? error}`)
  }
  try {
    const info = fstatSync(fd)
    const kind = kindOf(info)
    if (kind) throw new RootError(`${shown} is ${kind}; only regular files are read`)
    if (!PROC && (info.dev !== pre.dev || info.ino !== pre.ino)) throw changed(shown)
    const real = realOf(fd, join(dir.path, name))
    access.check(real, purpose, shown)
    if (secretLinked(access.boundary, info))
      throw new RootError(`refused: "${shown}" is a hard link to a file of the runtime's private state`)
    return { fd, path: real, size: info.size, mtimeMs: info.mtimeMs }
  } catch (error) {
    close(fd)
    throw error
  }
}

/** Open the regular file at canonical `abs` for reading (the caller closes `fd`). */
export function openFile(access: Access, abs: string, purpose: Purpose = "read", shown = access.show(abs)): OpenedFile {
  const dir = openDir(access, dirname(abs), purpose, false, shown)
  try {
    return openIn(access, dir, basename(abs), purpose, shown)
  } finally {
    dir.close()
  }
}

/** Read all of an open file, refusing more than `max` bytes. Closes nothing. */
export function readAll(file: OpenedFile, max: number, shown: string): Uint8Array {
  if (file.size > max) throw new RootError(`${shown} is ${file.size} bytes; files over ${max} bytes are not read`)
  const buffer = Buffer.allocUnsafe(Math.min(file.size, max) + 1)
  let length = 0
  for (;;) {
    if (length === buffer.length) throw new RootError(`${shown} grew past ${max} bytes while it was read`)
    const n = readSync(file.fd, buffer, length, buffer.length - length, null)
    if (n === 0) break
    length += n
  }
  return buffer.subarray(0, length)
}

/** Resolve, open, read and close: the bytes of a regular file inside the roots. */
export function readBytes(access: Access, path: string, max: number): { path: string; bytes: Uint8Array } {
  const abs = access.resolve(path, "read")
  const file = openFile(access, abs, "read", path)
  try {
    return { path: file.path, bytes: readAll(file, max, path) }
  } finally {
    close(file.fd)
  }
}

/** The entries of a folder inside the read roots, secret ones left out. */
export function listDir(access: Access, path: string): { path: string; entries: Dirent[] } {
  const abs = access.resolve(path, "read")
  const dir = openDir(access, abs, "read", false, path)
  try {
    const real = realOf(dir.fd, dir.path)
    access.check(real, "read", path)
    const entries = readdirSync(PROC ? handleOf(dir.fd) : dir.path, { withFileTypes: true })
    return { path: real, entries: entries.filter((entry) => !access.hidden(join(real, entry.name))) }
  } finally {
    dir.close()
  }
}

export { close as closeFd }
