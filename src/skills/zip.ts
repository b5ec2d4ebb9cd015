/**
 * Extracting a .zip of skills without a package: the central directory is read by hand and entries are
 * inflated with Bun's raw DEFLATE (`Bun.inflateSync`), which is all a skill archive uses (methods 0
 * "stored" and 8 "deflated"). What an archive may not do: write outside the target (absolute paths,
 * `..`), hold links, be encrypted, use ZIP64, or unpack to more than MAX_BYTES.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, isAbsolute, join, normalize, sep } from "node:path"

export const MAX_BYTES = 100 * 1024 * 1024
export const MAX_ENTRIES = 10_000

const END = 0x06054b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

/** Unpack `bytes` into `dir`; returns the files written (relative). Throws with the reason. */
export function unzip(bytes: Uint8Array<ArrayBuffer>, dir: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let end = -1
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 65_535); at--)
    if (view.getUint32(at, true) === END) {
      end = at
      break
    }
  if (end < 0) throw new Error("not a zip archive (no end of central directory)")
  const count = view.getUint16(end + 10, true)
  let at = view.getUint32(end + 16, true)
  if (count === 0xffff || at === 0xffffffff) throw new Error("ZIP64 archives are not supported")
  if (count > MAX_ENTRIES) throw new Error(`the archive has ${count} entries (at most ${MAX_ENTRIES})`)
  const decoder = new TextDecoder()
  const written: string[] = []
  let total = 0
  for (let index = 0; index < count; index++) {
    if (view.getUint32(at, true) !== CENTRAL) throw new Error("the archive's central directory is damaged")
    const flags = view.getUint16(at + 8, true)
    const method = view.getUint16(at + 10, true)
    const compressed = view.getUint32(at + 20, true)
    const size = view.getUint32(at + 24, true)
    const nameLength = view.getUint16(at + 28, true)
    const extraLength = view.getUint16(at + 30, true)
    const commentLength = view.getUint16(at + 32, true)
    const madeBy = view.getUint16(at + 4, true) >> 8
    const mode = view.getUint32(at + 38, true) >>> 16
    const offset = view.getUint32(at + 42, true)
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength))
    at += 46 + nameLength + extraLength + commentLength
    if (name.endsWith("/")) continue
    if (flags & 1) throw new Error(`${name} is encrypted; encrypted archives are not supported`)
    if (madeBy === 3 && (mode & 0o170000) === 0o120000) throw new Error(`${name} is a symbolic link; refused`)
    const path = normalize(name.replaceAll("\\", "/"))
    if (isAbsolute(path) || path === ".." || path.startsWith(`..${sep}`))
      throw new Error(`${name} would be written outside the target folder; refused`)
    if (view.getUint32(offset, true) !== LOCAL) throw new Error(`${name}: damaged local header`)
    const start = offset + 30 + view.getUint16(offset + 26, true) + view.getUint16(offset + 28, true)
    const raw = bytes.subarray(start, start + compressed)
    total += size
    if (total > MAX_BYTES) throw new Error(`the archive unpacks to more than ${MAX_BYTES} bytes; refused`)
    const data = method === 0 ? raw : method === 8 ? Bun.inflateSync(raw) : null
    if (!data) throw new Error(`${name} uses compression method ${method}; only stored and deflated are supported`)
    if (data.length !== size) throw new Error(`${name}: unpacked to ${data.length} bytes, the archive says ${size}`)
    const target = join(dir, path)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, data, { mode: mode & 0o111 ? 0o755 : 0o644 })
    written.push(path)
  }
  return written
}
