/**
 * Checkpoints of the mutable roots over isomorphic-git (no system git). The repository lives in the
 * state folder (`.drost/evolution.git`) with the workspace as its work tree, and only ever looks at the
 * mutable roots, so a user's own `.git` is never touched. Every operation goes through one queue:
 * isomorphic-git is not safe against concurrent writers to the same index (BUN-TRAPS §7).
 */
import * as fs from "node:fs"
import { join, relative } from "node:path"
import { type Git, loadGit } from "../util/git-module.ts"

const AUTHOR = { name: "drost", email: "drost@localhost" }
const BRANCH = "main"

export interface FileChange {
  path: string
  /** added | modified | deleted, relative to the previous commit. */
  status: "added" | "modified" | "deleted"
  added: number
  removed: number
}

export interface RepoOptions {
  /** The workspace (work tree). */
  dir: string
  /** Where the repository lives (inside the state folder). */
  gitdir: string
  /** Workspace-relative files and folders that are versioned. */
  roots: string[]
}

export type Repo = ReturnType<typeof createRepo>

function lines(text: string): string[] {
  if (text === "") return []
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n")
}

/** Added/removed line counts by a multiset comparison: cheap, and exact enough for a diff stat. */
function lineStat(before: string, after: string): { added: number; removed: number } {
  const counts = new Map<string, number>()
  for (const line of lines(before)) counts.set(line, (counts.get(line) ?? 0) + 1)
  let added = 0
  for (const line of lines(after)) {
    const left = counts.get(line) ?? 0
    if (left > 0) counts.set(line, left - 1)
    else added++
  }
  const removed = [...counts.values()].reduce((sum, n) => sum + n, 0)
  return { added, removed }
}

export function createRepo(options: RepoOptions) {
  const { dir, gitdir } = options
  const roots = options.roots.map((root) => relative(dir, join(dir, root)) || ".")
  let tail: Promise<unknown> = Promise.resolve()
  /** Serialise every git operation: one queue for the whole repository. */
  let git: Git
  const queued = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = async () => {
      git ??= await loadGit()
      return await fn()
    }
    const next = tail.then(run, run)
    tail = next.catch(() => undefined)
    return next
  }
  const existing = () => roots.filter((root) => fs.existsSync(join(dir, root)))

  async function ensure() {
    if (fs.existsSync(join(gitdir, "HEAD"))) return
    fs.mkdirSync(gitdir, { recursive: true, mode: 0o700 })
    await git.init({ fs, dir, gitdir, defaultBranch: BRANCH })
  }

  async function headOid(): Promise<string | null> {
    try {
      return await git.resolveRef({ fs, gitdir, ref: "HEAD" })
    } catch {
      return null
    }
  }

  /** Make the index equal the work tree inside the roots; returns the changed paths. */
  async function stage(): Promise<string[]> {
    const paths = existing()
    const head = await headOid()
    const matrix = paths.length ? await git.statusMatrix({ fs, dir, gitdir, filepaths: paths }) : []
    const changed: string[] = []
    for (const [file, h, w, s] of matrix) {
      if (h === 1 && w === 1 && s === 1) continue
      changed.push(file)
      if (w === 0) await git.remove({ fs, dir, gitdir, filepath: file })
      else await git.add({ fs, dir, gitdir, filepath: file })
    }
    // A whole root deleted: statusMatrix does not see its tracked files any more.
    if (head) {
      const tracked = await git.listFiles({ fs, gitdir, ref: head })
      for (const file of tracked) {
        if (fs.existsSync(join(dir, file)) || changed.includes(file)) continue
        changed.push(file)
        await git.remove({ fs, dir, gitdir, filepath: file })
      }
    }
    return changed
  }

  async function commitIndex(message: string): Promise<string> {
    return git.commit({ fs, dir, gitdir, message, author: AUTHOR })
  }

  async function files(oid: string | null): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    if (!oid) return out
    await git.walk({
      fs,
      dir,
      gitdir,
      trees: [git.TREE({ ref: oid })],
      map: async (path, [entry]) => {
        if (!entry || path === ".") return true
        if ((await entry.type()) === "blob") out.set(path, (await entry.oid()) as string)
        return true
      },
    })
    return out
  }

  async function blobText(oid: string): Promise<string> {
    const { blob } = await git.readBlob({ fs, gitdir, oid })
    return new TextDecoder().decode(blob)
  }

  function pruneEmpty(folder: string, keep: Set<string>) {
    if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) return
    for (const entry of fs.readdirSync(folder)) pruneEmpty(join(folder, entry), keep)
    const rel = relative(dir, folder)
    if (!keep.has(rel) && fs.readdirSync(folder).length === 0) fs.rmdirSync(folder)
  }

  /** Folders under the roots, so a restore can remove the ones a change created. */
  function folders(): Set<string> {
    const out = new Set<string>(roots)
    for (const root of existing()) {
      const base = join(dir, root)
      if (!fs.statSync(base).isDirectory()) continue
      for (const entry of fs.readdirSync(base, { recursive: true, withFileTypes: true }))
        if (entry.isDirectory()) out.add(relative(dir, join(entry.parentPath, entry.name)))
    }
    return out
  }

  return {
    dir,
    gitdir,
    roots,
    head: () => queued(headOid),
    folders,
    /** Commit the current content of the roots (creating the repository if needed); returns `before`. */
    checkpoint: (message: string) =>
      queued(async () => {
        await ensure()
        const changed = await stage()
        const head = await headOid()
        if (changed.length === 0 && head) return head
        return commitIndex(message)
      }),
    /** Stage everything in the roots and commit it when anything changed; null when nothing did. */
    commit: (message: string) =>
      queued(async () => {
        await ensure()
        const changed = await stage()
        return changed.length ? commitIndex(message) : null
      }),
    /** Paths in the roots that differ from HEAD right now. */
    changed: () =>
      queued(async () => {
        await ensure()
        const paths = existing()
        const head = await headOid()
        const matrix = paths.length ? await git.statusMatrix({ fs, dir, gitdir, filepaths: paths }) : []
        const out = matrix.filter(([, h, w]) => !(h === 1 && w === 1)).map(([file]) => file)
        if (head)
          for (const file of await git.listFiles({ fs, gitdir, ref: head }))
            if (!fs.existsSync(join(dir, file)) && !out.includes(file)) out.push(file)
        return out.sort()
      }),
    /**
     * Put the roots back to exactly `oid`: files it has are written byte for byte, files it lacks are
     * deleted, folders the change created are removed. HEAD is left where it is (callers commit or
     * move it). `keep` lists folders that existed before and must stay even when empty.
     */
    restore: (oid: string, keep: Set<string> = new Set()) =>
      queued(async () => {
        await stage()
        await git.checkout({
          fs,
          dir,
          gitdir,
          ref: oid,
          filepaths: existing().length ? existing() : roots,
          force: true,
          noUpdateHead: true,
        })
        // Files the target has under roots that were deleted wholesale (checkout with filepaths only sees existing ones).
        const target = await files(oid)
        for (const [path, blob] of target) {
          const file = join(dir, path)
          if (fs.existsSync(file)) continue
          fs.mkdirSync(join(file, ".."), { recursive: true })
          const { blob: bytes } = await git.readBlob({ fs, gitdir, oid: blob })
          fs.writeFileSync(file, bytes)
          await git.add({ fs, dir, gitdir, filepath: path })
        }
        for (const root of roots) pruneEmpty(join(dir, root), keep)
      }),
    /** Move the branch to `oid` (after a restore, so work tree, index and HEAD agree). */
    reset: (oid: string) =>
      queued(() => git.writeRef({ fs, gitdir, ref: `refs/heads/${BRANCH}`, value: oid, force: true })),
    /** Per-file status and line counts between two commits (`to` null: the current work tree is not considered). */
    diff: (from: string | null, to: string) =>
      queued(async () => {
        const [a, b] = await Promise.all([files(from), files(to)])
        const out: FileChange[] = []
        for (const path of new Set([...a.keys(), ...b.keys()])) {
          const x = a.get(path)
          const y = b.get(path)
          if (x === y) continue
          const before = x ? await blobText(x) : ""
          const after = y ? await blobText(y) : ""
          out.push({ path, status: !x ? "added" : !y ? "deleted" : "modified", ...lineStat(before, after) })
        }
        return out.sort((l, r) => l.path.localeCompare(r.path))
      }),
    /** The content of `path` at `oid`, or null when it did not exist there. */
    read: (oid: string, path: string) =>
      queued(async () => {
        const blob = (await files(oid)).get(path)
        return blob ? blobText(blob) : null
      }),
    log: (depth = 50) => queued(async () => ((await headOid()) ? git.log({ fs, gitdir, depth }) : [])),
  }
}
