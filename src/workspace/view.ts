/**
 * What a sandboxed process sees of the workspace: the read roots read-only, the mutable roots
 * writable, loaded code read-only inside them, secrets hidden. Loaded-code files that do not exist yet
 * (a config file name not in use) cannot be mounted over, so `sweep()` removes any the process created;
 * once a bwrap sandbox has exited nothing of it runs any more, so a check after the call is final.
 */
import { lstatSync, rmSync } from "node:fs"
import { relative } from "node:path"
import type { SandboxSpec } from "../sandbox/spec.ts"
import type { Boundary } from "./boundary.ts"

export interface ViewInput {
  boundary: Boundary
  /** Absolute read roots. */
  read: string[]
  /** Absolute mutable roots (empty: nothing writable). */
  write: string[]
}

function present(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

export function viewSpec(input: ViewInput, cwd: string, env: Record<string, string>, network: boolean): SandboxSpec {
  return {
    cwd,
    read: input.read,
    write: input.write,
    readOnly: input.boundary.code,
    hidden: input.boundary.secret,
    env,
    network,
  }
}

/** The loaded-code paths missing now; after the call, `sweep` removes the ones that appeared. */
export function missingCode(boundary: Boundary): string[] {
  return boundary.code.filter((path) => !present(path))
}

/** Remove loaded-code paths that appeared during a sandboxed call; returns them, workspace-relative. */
export function sweep(boundary: Boundary, missing: string[]): string[] {
  const created = missing.filter((path) => present(path))
  for (const path of created) rmSync(path, { recursive: true, force: true })
  return created.map((path) => relative(boundary.workspace, path) || path)
}
