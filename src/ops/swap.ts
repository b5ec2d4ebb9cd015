/**
 * Replacing the executable in place (docs/operations.md#update). The new file is written beside the
 * old one (same folder, so the same file system), fsynced and made executable; the old one is kept as
 * `<exe>.previous` through a hard link, and the new one is renamed over the executable: at every moment
 * the path holds a complete binary, the old or the new. A rollback renames `.previous` back the same way.
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs"
import { dirname } from "node:path"

export const previousOf = (exe: string) => `${exe}.previous`

function fsyncDir(path: string) {
  try {
    const fd = openSync(dirname(path), "r")
    fsyncSync(fd)
    closeSync(fd)
  } catch {
    // Not every platform can open a folder for fsync (Windows); the renames are still atomic.
  }
}

/** Install `bytes` as `exe`, keeping the old one as `<exe>.previous`. */
export function swapIn(exe: string, bytes: Uint8Array) {
  const next = `${exe}.new`
  const mode = statSync(exe).mode & 0o777
  rmSync(next, { force: true })
  const fd = openSync(next, "w", mode | 0o100)
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  chmodSync(next, mode | 0o100)
  const previous = previousOf(exe)
  rmSync(previous, { force: true })
  try {
    linkSync(exe, previous)
  } catch {
    copyFileSync(exe, previous) // a file system without hard links
  }
  renameSync(next, exe)
  fsyncDir(exe)
}

/** Put `<exe>.previous` back in place. */
export function rollBack(exe: string) {
  const previous = previousOf(exe)
  if (!existsSync(previous)) throw new Error(`${previous} is missing: cannot roll back`)
  const back = `${exe}.rollback`
  rmSync(back, { force: true })
  copyFileSync(previous, back)
  chmodSync(back, statSync(previous).mode & 0o777)
  renameSync(back, exe)
  fsyncDir(exe)
}
