/**
 * Root policy for file access: every path is resolved and canonicalised (symlinks included) and must
 * stay inside one of the allowed roots. `..`, absolute paths elsewhere, symlinks pointing out and
 * symlinked parent folders are all refused with an error that names the roots.
 */
import { existsSync, realpathSync } from "node:fs"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"

export class RootError extends Error {}

function canonical(path: string): string {
  // For a path that does not exist yet, canonicalise the deepest existing ancestor.
  let current = path
  const rest: string[] = []
  while (!existsSync(current)) {
    const parent = dirname(current)
    if (parent === current) break
    rest.unshift(basename(current))
    current = parent
  }
  return join(realpathSync(current), ...rest)
}

export function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel))
}

/** Resolve `path` (relative to the first root) and require it inside one of `roots`. */
export function resolveIn(roots: string[], path: string): string {
  const bases = roots.map((root) => canonical(resolve(root)))
  const target = canonical(resolve(bases[0]!, path))
  if (bases.some((base) => inside(base, target))) return target
  throw new RootError(`"${path}" is outside the allowed roots (${roots.join(", ")}); use a path inside them`)
}
