/**
 * What a sandboxed process sees of the workspace: the read roots read-only, the mutable roots
 * writable, loaded code read-only inside them, secrets hidden. Loaded-code files that do not exist yet
 * (a config file name not in use) cannot be mounted over, nor can a symlink, so `sweep()` removes what
 * the process created and puts links back; once a bwrap sandbox has exited nothing of it runs any more,
 * so a check after the call is final.
 */
import { type FSWatcher, lstatSync, readlinkSync, rmSync, symlinkSync, watch } from "node:fs"
import { dirname, relative } from "node:path"
import type { SandboxSpec } from "../sandbox/spec.ts"
import type { Boundary } from "./boundary.ts"
import { present } from "../util/present.ts"

export interface ViewInput {
  boundary: Boundary
  /** Absolute read roots. */
  read: string[]
  /** Absolute mutable roots (empty: nothing writable). */
  write: string[]
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

/**
 * What cannot be mounted read-only: loaded-code paths missing now and those that are symlinks (a mount
 * lands on a link's target). After the call, `sweep` removes what appeared and puts links back.
 */
export interface CodeSnapshot {
  missing: string[]
  links: { path: string; target: string }[]
}

export function missingCode(boundary: Boundary): CodeSnapshot {
  const snapshot: CodeSnapshot = { missing: [], links: [] }
  for (const path of boundary.code) {
    if (!present(path)) snapshot.missing.push(path)
    else if (lstatSync(path).isSymbolicLink()) snapshot.links.push({ path, target: readlinkSync(path) })
  }
  return snapshot
}

function linkIs(path: string, target: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path) === target
  } catch {
    return false
  }
}

/** Undo loaded-code changes a sandboxed call could make; returns them, workspace-relative. */
export function sweep(boundary: Boundary, snapshot: CodeSnapshot): string[] {
  const changed: string[] = []
  for (const path of snapshot.missing) {
    if (!present(path)) continue
    rmSync(path, { recursive: true, force: true })
    changed.push(path)
  }
  for (const { path, target } of snapshot.links) {
    if (linkIs(path, target)) continue
    rmSync(path, { recursive: true, force: true })
    symlinkSync(target, path)
    changed.push(path)
  }
  return changed.map((path) => relative(boundary.workspace, path) || path)
}

/**
 * For a sandboxed process that lives across calls (a tool host), the end of a call is not the end of
 * what it can do: a timer may create a loaded-code file later. Watch the folders of the missing paths
 * for the host's lifetime and undo such a change as it happens; the returned function stops watching
 * and sweeps a last time.
 */
export function watchCode(boundary: Boundary, onUndo: (paths: string[]) => void): () => void {
  const snapshot = missingCode(boundary)
  const folders = new Set(
    [...snapshot.missing, ...snapshot.links.map((link) => link.path)].map((path) => dirname(path)),
  )
  const check = () => {
    const undone = sweep(boundary, snapshot)
    if (undone.length) onUndo(undone)
  }
  const watchers: FSWatcher[] = []
  for (const folder of folders) {
    try {
      watchers.push(watch(folder, { persistent: false }, check))
    } catch {
      // A folder that does not exist cannot gain a child without its parent changing: covered above it.
    }
  }
  return () => {
    for (const watcher of watchers) watcher.close()
    check()
  }
}
