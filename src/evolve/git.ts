/**
 * Checkpoints of the mutable roots over isomorphic-git (no system git). The repository lives in the
 * state folder (`.drost/evolution.git`) with the workspace as its work tree, and only ever looks at the
 * mutable roots, so a user's own `.git` is never touched. Every operation goes through one queue:
 * isomorphic-git is not safe against concurrent writers to the same index (BUN-TRAPS §7).
 */
import * as fs from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
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

/** The git blob id of what is at `file` now (as the given mode), or null when it is missing or differs in kind. */
function blobOid(file: string, mode: string): string | null {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(file)
  } catch {
    return null
  }
  const link = mode === "120000"
  if (link !== stat.isSymbolicLink() || (!link && !stat.isFile())) return null
  if (!link && (mode === "100755") !== Boolean(stat.mode & 0o100)) return null
  const bytes = link ? Buffer.from(fs.readlinkSync(file)) : fs.readFileSync(file)
  const hash = new Bun.CryptoHasher("sha1")
  hash.update(`blob ${bytes.length}\0`)
  hash.update(bytes)
  return hash.digest("hex")
}

/** Whatever occupies `file` or one of its parent folders as the wrong kind (a folder, a file, a link). */
function removeInTheWay(file: string) {
  fs.rmSync(file, { force: true, recursive: true })
  for (let parent = dirname(file); parent !== dirname(parent); parent = dirname(parent)) {
    let stat: fs.Stats
    try {
      stat = fs.lstatSync(parent)
    } catch {
      continue
    }
    if (stat.isDirectory()) return
    fs.rmSync(parent, { force: true })
    return
  }
}

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
  const roots = options.roots.map((root) => relative(dir, resolve(dir, root)) || ".")
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

  /** path → blob oid (with `withMode`: "oid:mode", mode as git writes it: 100644, 100755, 120000). */
  async function files(oid: string | null, withMode = false): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    if (!oid) return out
    await git.walk({
      fs,
      dir,
      gitdir,
      trees: [git.TREE({ ref: oid })],
      map: async (path, [entry]) => {
        if (!entry || path === ".") return true
        if ((await entry.type()) !== "blob") return true
        const blob = (await entry.oid()) as string
        out.set(path, withMode ? `${blob}:${((await entry.mode()) as number).toString(8)}` : blob)
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
    const out = new Set<string>()
    for (const root of existing()) {
      const base = join(dir, root)
      if (!fs.statSync(base).isDirectory()) continue
      out.add(root)
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
        // Written file by file rather than with git.checkout: its filepaths must be files or folders with
        // tracked content, and an empty root folder (a fresh prompts/) made it unlink a folder (EISDIR).
        const target = await files(oid, true)
        const paths = existing()
        const matrix = paths.length ? await git.statusMatrix({ fs, dir, gitdir, filepaths: paths }) : []
        for (const [path, , workdir] of matrix)
          if (workdir !== 0 && !target.has(path)) fs.rmSync(join(dir, path), { force: true, recursive: true })
        for (const [path, entry] of target) {
          const file = join(dir, path)
          const [blob, mode] = entry.split(":") as [string, string]
          if (blobOid(file, mode) === blob) continue
          removeInTheWay(file)
          fs.mkdirSync(dirname(file), { recursive: true })
          const { blob: bytes } = await git.readBlob({ fs, gitdir, oid: blob })
          if (mode === "120000") fs.symlinkSync(new TextDecoder().decode(bytes), file)
          else fs.writeFileSync(file, bytes, { mode: mode === "100755" ? 0o755 : 0o644 })
        }
        for (const root of roots) pruneEmpty(join(dir, root), keep)
        // Folders of the checkpoint the change removed (git keeps no empty folders).
        for (const folder of keep) if (!target.has(folder)) fs.mkdirSync(join(dir, folder), { recursive: true })
        await stage()
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
