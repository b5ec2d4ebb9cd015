/**
 * Whether something is at `path`, without following a final symlink (a dangling link is present).
 * The sandbox and the workspace boundary ask this rather than `existsSync`, which follows links and so
 * answers for the link's target instead of the entry a mount or a check is about.
 */
import { lstatSync } from "node:fs"

export function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined
}
