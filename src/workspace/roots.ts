/**
 * Root policy for file access: every path is resolved and canonicalised (symlinks included) and must
 * stay inside one of the allowed roots. `..`, absolute paths elsewhere, symlinks pointing out and
 * symlinked parent folders are all refused with an error that names the roots. Reads may use any
 * readable root; writes (and the shell's working folder) only the mutable ones. This is the path
 * check only: access.ts adds the secret and loaded-code rules, open.ts checks the opened handle.
 */
import { realpathSync } from "node:fs"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import { present } from "../util/present.ts"

export class RootError extends Error {
  override name = "RootError"
}

/** The folders tools may touch. `read[0]` is the base that relative paths are resolved against. */
export interface Roots {
  read: string[]
  write: string[]
}

export function canonical(path: string): string {
  // For a path that does not exist yet, canonicalise the deepest existing ancestor. A dangling symlink
  // exists (lstat) and is resolved by realpath failing: such a path is refused below, never followed.
  let current = path
  const rest: string[] = []
  while (!present(current)) {
    const parent = dirname(current)
    if (parent === current) break
    rest.unshift(basename(current))
    current = parent
  }
  try {
    return join(realpathSync(current), ...rest)
  } catch {
    throw new RootError(`"${path}" is a broken symbolic link; refusing to follow it`)
  }
}

export function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

/** Resolve `path` (relative to the first root) and require it inside one of `roots`. */
export function resolveIn(roots: string[], path: string, purpose = "access"): string {
  if (roots.length === 0) throw new RootError(`no roots are configured for ${purpose}; "${path}" is refused`)
  if (path.includes("\0")) throw new RootError("the path contains a NUL byte")
  const bases = roots.map((root) => canonical(resolve(root)))
  const target = canonical(resolve(bases[0]!, path))
  if (bases.some((base) => inside(base, target))) return target
  throw new RootError(
    `"${path}" is outside the roots allowed for ${purpose} (${roots.join(", ")}); use a path inside them`,
  )
}

export const Roots = {
  read: (roots: Roots, path: string) => resolveIn(roots.read, path, "reading"),
  /** Writes must be inside a mutable root (relative paths still start at the workspace). */
  write(roots: Roots, path: string): string {
    const base = roots.read[0] ?? roots.write[0]
    if (!base) throw new RootError("no roots are configured")
    const target = isAbsolute(path) ? path : resolve(canonical(resolve(base)), path)
    return resolveIn([...roots.write], target, "writing")
  },
  /** A path as the model should see it: relative to the workspace when inside it. */
  show(roots: Roots, path: string): string {
    const base = roots.read[0] ? canonical(resolve(roots.read[0])) : ""
    return base && inside(base, path) ? relative(base, path) || "." : path
  },
}
