/**
 * A skill's bundled files (scripts/, references/, assets/, anything else beside SKILL.md), listed for
 * `skill.load` and read one at a time by `skill.read`. A read stays inside the skill's folder: the path
 * is resolved with symlinks followed and must still be under the folder's real path, and secret paths
 * (the boundary's state folder, `.env`, credential files) are refused even there.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs"
import { isAbsolute, join, relative, resolve, sep } from "node:path"
import { type Boundary, classify } from "../workspace/boundary.ts"

/** At most this many files are listed (a skill with a vendored tree still loads quickly). */
export const MAX_LISTED = 200
/** Bytes of one file `skill.read` returns. */
export const MAX_READ_BYTES = 200 * 1024

/** Files under `root`, relative, sorted; dot folders and node_modules skipped. */
export function bundled(root: string): { files: string[]; more: number } {
  let entries: string[] = []
  try {
    entries = readdirSync(root, { recursive: true, encoding: "utf8" })
  } catch {}
  const files = entries
    .filter((entry) => !entry.split(sep).some((part) => part.startsWith(".") || part === "node_modules"))
    .filter((entry) => entry !== "SKILL.md" && statSync(join(root, entry), { throwIfNoEntry: false })?.isFile())
    .sort()
  return { files: files.slice(0, MAX_LISTED), more: Math.max(0, files.length - MAX_LISTED) }
}

const within = (root: string, path: string) => {
  const rel = relative(root, path)
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel)
}

/** The text of `path` (relative to the skill's folder); throws with a message the model can act on. */
export function readBundled(root: string, path: string, boundary: Boundary | null): string {
  if (isAbsolute(path)) throw new Error(`give the path relative to the skill's folder (e.g. references/REFERENCE.md)`)
  const base = realpathSync(root)
  const target = resolve(base, path)
  if (!within(base, target)) throw new Error(`"${path}" is outside the skill's folder`)
  let real: string
  try {
    real = realpathSync(target)
  } catch {
    const { files } = bundled(root)
    throw new Error(`the skill has no file "${path}"; its files: ${files.join(", ") || "none besides SKILL.md"}`)
  }
  if (!within(base, real)) throw new Error(`"${path}" leads outside the skill's folder (a link); refused`)
  const protection = boundary ? classify(boundary, real) : null
  if (protection?.kind === "secret") throw new Error(`"${path}" is a credential or private state file; refused`)
  const info = statSync(real)
  if (!info.isFile()) throw new Error(`"${path}" is a folder; its files are listed by skill.load`)
  const bytes = readFileSync(real).subarray(0, MAX_READ_BYTES)
  if (bytes.includes(0))
    return `${path} is a binary file (${info.size} bytes); use it by path from a script run with the shell tool`
  const text = new TextDecoder().decode(bytes)
  return info.size > MAX_READ_BYTES
    ? `${text}\n… [${info.size - MAX_READ_BYTES} more bytes not shown; the file is ${info.size} bytes]`
    : text
}
