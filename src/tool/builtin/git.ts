/**
 * `git.status`, `git.diff`, `git.log`, `git.show` and `git.commit` through isomorphic-git, so no
 * system git is needed (also inside the compiled binary). The repository is the one containing the
 * workspace; paths outside the workspace are never shown or staged, secret paths (the workspace
 * access object) are left out of every listing and diff and never staged, and a working-tree file is
 * read race-free without following a symlink: a tracked file replaced by a link diffs as the link's
 * text, the way git itself records links.
 */
import fs from "node:fs"
import { join, relative } from "node:path"
import { Type } from "../../core/schema.ts"
import { type Git, loadGit } from "../../util/git-module.ts"
import type { Access } from "../../workspace/access.ts"
import { closeFd, openFile, readAll } from "../../workspace/open.ts"
import { Roots } from "../../workspace/roots.ts"
import type { RegisteredTool } from "../registry.ts"
import { unifiedDiff } from "./diff.ts"

const MAX_DIFF_FILE = 5 * 1024 * 1024

const STATUS: Record<string, string> = {
  "0,2,0": "untracked",
  "0,2,2": "added",
  "0,2,3": "added, modified",
  "1,1,1": "unmodified",
  "1,1,3": "modified (staged, reverted)",
  "1,2,1": "modified",
  "1,2,2": "modified (staged)",
  "1,2,3": "modified (partly staged)",
  "1,0,1": "deleted",
  "1,0,0": "deleted (staged)",
  "1,1,0": "deleted (staged, file still present)",
  "1,2,0": "deleted (staged, file still present)",
  "0,0,3": "added (staged), deleted",
}

interface Repo {
  dir: string
  /** The workspace relative to the repository root ("." when they are the same). */
  scope: string
}

/** Set by repo(), which every tool calls first: the module loads with the first git tool call. */
let git: Git

async function repo(workspace: string): Promise<Repo> {
  git ??= await loadGit()
  const dir = await git.findRoot({ fs, filepath: workspace }).catch(() => null)
  if (!dir) throw new Error("the workspace is not inside a git repository (no .git folder found)")
  return { dir, scope: relative(dir, workspace) || "." }
}

const inScope = (r: Repo, file: string) => r.scope === "." || file === r.scope || file.startsWith(`${r.scope}/`)
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const binary = (text: string | null) => text?.slice(0, 8000).includes("\0") ?? false

async function blob(r: Repo, ref: string, filepath: string): Promise<string | null> {
  try {
    const oid = await git.resolveRef({ fs, dir: r.dir, ref }).catch(() => ref)
    const { blob: bytes } = await git.readBlob({ fs, dir: r.dir, oid, filepath })
    return decode(bytes)
  } catch {
    return null
  }
}

async function changed(r: Repo) {
  const rows = await git.statusMatrix({ fs, dir: r.dir, filepaths: r.scope === "." ? undefined : [r.scope] })
  return rows.filter(([file, head, work, stage]) => inScope(r, file) && !(head === 1 && work === 1 && stage === 1))
}

function commitText(entry: Awaited<ReturnType<typeof git.log>>[number]): string {
  const c = entry.commit
  const when = new Date(c.author.timestamp * 1000).toISOString()
  return `commit ${entry.oid}\nAuthor: ${c.author.name} <${c.author.email}>\nDate:   ${when}\n\n${c.message.trimEnd().replace(/^/gm, "    ")}`
}

/** The working-tree side of a diff: a symlink's text, or the regular file's content read race-free. */
function working(access: Access, r: Repo, file: string): string {
  const path = join(r.dir, file)
  if (fs.lstatSync(path).isSymbolicLink()) return fs.readlinkSync(path)
  const opened = openFile(access, access.resolve(path, "read"), "read", file)
  try {
    return new TextDecoder().decode(readAll(opened, MAX_DIFF_FILE, file))
  } finally {
    closeFd(opened.fd)
  }
}

export function gitTools(access: () => Access, author: () => { name: string; email: string }): RegisteredTool[] {
  const workspace = () => access().roots.read[0]!
  /** Repository paths a listing or diff leaves out: secrets (their names and contents alike). */
  const secret = (r: Repo, file: string) => access().hidden(join(r.dir, file))
  const obj = (props: Parameters<typeof Type.Object>[0]) => Type.Object(props, { additionalProperties: false })

  const status: RegisteredTool = {
    name: "git.status",
    source: "builtin",
    description: "Show the branch and the changed files of the workspace's git repository (like `git status --short`).",
    parameters: obj({}),
    async execute() {
      const r = await repo(workspace())
      const branch = (await git.currentBranch({ fs, dir: r.dir }).catch(() => null)) ?? "(detached HEAD)"
      const rows = (await changed(r)).filter(([file]) => !secret(r, file))
      const lines = rows.map(
        ([file, head, work, stage]) =>
          `${(STATUS[`${head},${work},${stage}`] ?? `${head},${work},${stage}`).padEnd(22)} ${file}`,
      )
      return `on branch ${branch}\n${lines.length ? lines.join("\n") : "nothing to commit, working tree clean"}`
    },
  }

  const diff: RegisteredTool = {
    name: "git.diff",
    source: "builtin",
    description: "Show the unified diff between the last commit (HEAD) and the working tree, optionally for one path.",
    parameters: obj({
      path: Type.Optional(Type.String({ description: "Only this file or folder (relative to the workspace)" })),
    }),
    async execute(args) {
      const r = await repo(workspace())
      const only = (args as { path?: string }).path
      const prefix = only ? relative(r.dir, access().resolve(only, "read")) : null
      // Like `git diff HEAD`: tracked files only (untracked ones are listed by git.status).
      const rows = (await changed(r)).filter(
        ([file, head]) =>
          head === 1 && !secret(r, file) && (!prefix || file === prefix || file.startsWith(`${prefix}/`)),
      )
      const parts: string[] = []
      for (const [file, , work] of rows) {
        const before = await blob(r, "HEAD", file)
        const after = work ? working(access(), r, file) : null
        const text = binary(before) || binary(after) ? `Binary file ${file} differs` : unifiedDiff(file, before, after)
        if (text) parts.push(text)
      }
      return parts.length ? parts.join("\n") : "no changes to tracked files against HEAD"
    },
  }

  const log: RegisteredTool = {
    name: "git.log",
    source: "builtin",
    description: "Show the most recent commits (hash, author, date, message).",
    parameters: obj({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: "Number of commits (default 10)" })),
      ref: Type.Optional(Type.String({ description: "Branch, tag or commit to start from (default HEAD)" })),
    }),
    async execute(args) {
      const { limit = 10, ref = "HEAD" } = args as { limit?: number; ref?: string }
      const r = await repo(workspace())
      const entries = await git.log({ fs, dir: r.dir, ref, depth: limit }).catch((error: Error) => {
        throw new Error(`cannot read the log of ${ref}: ${error.message}`)
      })
      return entries.length ? entries.map(commitText).join("\n\n") : "no commits yet"
    },
  }

  const show: RegisteredTool = {
    name: "git.show",
    source: "builtin",
    description: "Show one commit: its message and the diff against its first parent.",
    parameters: obj({
      ref: Type.Optional(Type.String({ description: "Commit hash (a prefix works), branch or tag (default HEAD)" })),
    }),
    async execute(args) {
      const r = await repo(workspace())
      const ref = (args as { ref?: string }).ref ?? "HEAD"
      const oid = await git
        .resolveRef({ fs, dir: r.dir, ref })
        .catch(() => git.expandOid({ fs, dir: r.dir, oid: ref }))
        .catch(() => {
          throw new Error(`unknown revision "${ref}"; use git.log to find a commit hash`)
        })
      const [entry] = await git.log({ fs, dir: r.dir, ref: oid, depth: 1 })
      if (!entry) throw new Error(`unknown revision "${ref}"`)
      const parent = entry.commit.parent[0]
      const files = await git.walk({
        fs,
        dir: r.dir,
        trees: [git.TREE({ ref: parent ?? oid }), git.TREE({ ref: oid })],
        map: async (file, [a, b]) => {
          if (file === "." || (!inScope(r, file) && !r.scope.startsWith(`${file}/`)))
            return file === "." ? undefined : null
          if ((await a?.type()) === "tree" || (await b?.type()) === "tree") return undefined
          const [ao, bo] = [parent ? await a?.oid() : undefined, await b?.oid()]
          return ao === bo ? undefined : file
        },
      })
      const parts: string[] = []
      const listed = (files as unknown[]).flat(Infinity).filter((f): f is string => typeof f === "string")
      for (const file of listed.filter((f) => !secret(r, f))) {
        const [before, after] = [parent ? await blob(r, parent, file) : null, await blob(r, oid, file)]
        const text = binary(before) || binary(after) ? `Binary file ${file} differs` : unifiedDiff(file, before, after)
        if (text) parts.push(text)
      }
      return `${commitText(entry)}\n\n${parts.join("\n") || "(no changes inside the workspace)"}`
    },
  }

  const commit: RegisteredTool = {
    name: "git.commit",
    source: "builtin",
    description:
      "Stage changes and commit them. With `paths`, only those files (relative to the workspace); otherwise every change inside the workspace, deletions included.",
    parameters: obj({
      message: Type.String({ minLength: 1, description: "Commit message" }),
      paths: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          minItems: 1,
          description: "Files to stage (default: all changes)",
        }),
      ),
    }),
    async execute(args) {
      const { message, paths } = args as { message: string; paths?: string[] }
      const r = await repo(workspace())
      const wanted = paths?.map((path) => {
        const target = Roots.write(access().roots, path)
        if (access().hidden(target))
          throw new Error(`refused: "${path}" is private state or a credential file and is never committed`)
        return relative(r.dir, target)
      })
      const all = (await changed(r)).filter(
        ([file]) => !wanted || wanted.some((w) => file === w || file.startsWith(`${w}/`)),
      )
      // Secrets inside a named folder or in "everything" are left out, never staged.
      const rows = all.filter(([file]) => !secret(r, file))
      if (rows.length === 0)
        throw new Error(paths ? `no changes in ${paths.join(", ")}` : "nothing to commit, working tree clean")
      for (const [file, , work] of rows) {
        Roots.write(access().roots, join(r.dir, file))
        if (work === 0) await git.remove({ fs, dir: r.dir, filepath: file })
        else await git.add({ fs, dir: r.dir, filepath: file })
      }
      const oid = await git.commit({ fs, dir: r.dir, message, author: author() })
      return `committed ${oid.slice(0, 10)} (${rows.length} file${rows.length === 1 ? "" : "s"}): ${message.split("\n")[0]}`
    },
  }
  return [status, diff, log, show, commit]
}
