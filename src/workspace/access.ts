/**
 * The one rule for workspace file access, used by the file tools, code.search, the git tools, memory
 * and evolution: a path must be inside the roots for its purpose (roots.ts) and must not be a secret
 * (boundary.ts: the state folder, `.env`, credential files), whatever the roots say. Writes are also
 * refused on loaded code (config, tools/, src/, prompts/, node_modules/, skills/) with a message that
 * names `evolve`, unless the access object is evolution's own (`code: true`); secrets stay refused even
 * then. Reads of loaded code are allowed. This file is the policy on paths; open.ts applies it to the
 * handle actually opened, so a path swapped after the check cannot redirect the access.
 */
import { resolve } from "node:path"
import { type Boundary, classify, refusal } from "./boundary.ts"
import { canonical, inside, RootError, Roots } from "./roots.ts"

export type Purpose = "read" | "write"

export interface AccessOptions {
  /** Readable roots (absolute, or relative to the current folder); `read[0]` is the workspace. */
  read: string[]
  /** Mutable roots. */
  write: string[]
  boundary: Boundary
  /** Allow writes to loaded code (evolution, which checkpoints, gates and rolls back). Never secrets. */
  code?: boolean
}

export interface Access {
  readonly roots: Roots
  readonly boundary: Boundary
  /** Resolve `path` (relative to the workspace) to a canonical absolute path allowed for `purpose`. */
  resolve(path: string, purpose: Purpose): string
  /** Require an absolute canonical path (e.g. the real path of an opened handle) allowed for `purpose`. */
  check(real: string, purpose: Purpose, shown?: string): void
  /** The canonical root for `purpose` that contains `abs` (the deepest one), or null. */
  rootOf(abs: string, purpose: Purpose): string | null
  /** Whether listings, globs and searches must skip `abs` silently (a secret path). */
  hidden(abs: string): boolean
  /** A path as the model should see it: relative to the workspace when inside it. */
  show(abs: string): string
}

export function createAccess(options: AccessOptions): Access {
  const roots: Roots = {
    read: options.read.map((root) => resolve(root)),
    write: options.write.map((root) => resolve(root)),
  }
  const { boundary } = options
  // Canonical roots, recomputed per call: a root that did not exist at start may exist now.
  const bases = (purpose: Purpose) => (purpose === "read" ? roots.read : roots.write).map((root) => canonical(root))

  const policy = (real: string, purpose: Purpose, shown: string) => {
    const protection = classify(boundary, real)
    if (protection?.kind === "secret") throw new RootError(`refused: ${refusal(protection, shown, purpose)}`)
    if (protection?.kind === "code" && purpose === "write" && !options.code)
      throw new RootError(`refused: ${refusal(protection, shown, purpose)}`)
  }

  const access: Access = {
    roots,
    boundary,
    resolve(path, purpose) {
      const real = purpose === "read" ? Roots.read(roots, path) : Roots.write(roots, path)
      policy(real, purpose, path)
      return real
    },
    check(real, purpose, shown = access.show(real)) {
      if (!access.rootOf(real, purpose))
        throw new RootError(
          `"${shown}" resolved to a place outside the roots allowed for ${purpose === "read" ? "reading" : "writing"} while it was opened; refused`,
        )
      policy(real, purpose, shown)
    },
    rootOf(abs, purpose) {
      const found = bases(purpose).filter((base) => inside(base, abs))
      return found.sort((a, b) => b.length - a.length)[0] ?? null
    },
    hidden: (abs) => classify(boundary, abs)?.kind === "secret",
    show: (abs) => Roots.show(roots, abs),
  }
  return access
}

export { RootError } from "./roots.ts"
