/**
 * Installing skills into a workspace's `skills/` folder from a folder, a .zip or a git repository
 * (cloned with isomorphic-git over HTTP(S), shallow). The source is staged in a temporary folder, every
 * skill in it is found (SKILL.md at its top, or in folders up to two levels down, as in a repository
 * with `skills/<name>/`), each one is checked, and only then copied to `skills/<name>`. A broken skill
 * is not installed; the others are. This is the owner's route; the model changes skills/ only through
 * `evolve` (the boundary treats skills/ as loaded code).
 */
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, relative, sep } from "node:path"
import * as fs from "node:fs"
import { loadGit } from "../util/git-module.ts"
import { parseSkill, SKILL_FILE } from "./skill.ts"
import { unzip } from "./zip.ts"

export type SourceKind = "folder" | "zip" | "git"

export interface InstallOptions {
  /** The workspace's skills folder. */
  target: string
  /** Replace a skill that is already installed. */
  force?: boolean
  /** A branch or tag of a git source. */
  ref?: string
}

export interface InstallReport {
  kind: SourceKind
  installed: { name: string; folder: string; replaced: boolean }[]
  skipped: { folder: string; reasons: string[] }[]
}

export function kindOf(source: string): SourceKind {
  if (/^(https?:\/\/|git@|ssh:\/\/|git:\/\/)/.test(source)) return "git"
  if (source.startsWith("npm:"))
    throw new Error("npm packages are not supported as a skill source; install from a folder, a .zip or a git URL")
  if (!existsSync(source)) throw new Error(`${source} does not exist (give a folder, a .zip file or a git URL)`)
  if (statSync(source).isDirectory()) return "folder"
  if (source.toLowerCase().endsWith(".zip")) return "zip"
  throw new Error(`${source} is neither a folder nor a .zip file`)
}

/** Folders holding a SKILL.md: `dir` itself, or up to two levels down (dot folders and node_modules skipped). */
export function findSkills(dir: string, depth = 2): string[] {
  if (existsSync(join(dir, SKILL_FILE))) return [dir]
  if (depth === 0) return []
  let entries: fs.Dirent[] = []
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {}
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith(".") && entry.name !== "node_modules")
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => findSkills(join(dir, entry.name), depth - 1))
}

async function clone(url: string, dir: string, ref?: string) {
  const git = await loadGit()
  const { default: http } = await import("isomorphic-git/http/node")
  await git.clone({ fs, http, dir, url, ref, singleBranch: true, depth: 1 })
}

export async function install(source: string, options: InstallOptions): Promise<InstallReport> {
  const kind = kindOf(source)
  const stage = mkdtempSync(join(tmpdir(), "drost-skill-"))
  try {
    let from = source
    if (kind === "zip") unzip(new Uint8Array(readFileSync(source)), stage)
    if (kind === "git") await clone(source, stage, options.ref)
    if (kind !== "folder") from = stage
    const roots = findSkills(from)
    if (roots.length === 0) throw new Error(`no ${SKILL_FILE} found in ${source} (looked two folders deep)`)
    const report: InstallReport = { kind, installed: [], skipped: [] }
    const shown = (root: string) => (kind === "folder" ? root : relative(stage, root) || basename(source))
    for (const root of roots) {
      // The folder's own name is not checked here: the skill is installed under its name.
      const parsed = parseSkill(root, { folder: null })
      if (!parsed.ok) {
        report.skipped.push({ folder: shown(root), reasons: parsed.rejection.reasons })
        continue
      }
      const name = parsed.skill.name
      const destination = join(options.target, name)
      const exists = existsSync(destination)
      if (exists && !options.force) {
        report.skipped.push({
          folder: shown(root),
          reasons: [`skills/${name} already exists; pass --force to replace it`],
        })
        continue
      }
      if (exists) rmSync(destination, { recursive: true, force: true })
      // No .git, and no links: a link could point the installed skill at any file on the disk.
      cpSync(root, destination, {
        recursive: true,
        filter: (path) => !relative(root, path).split(sep).includes(".git") && !lstatSync(path).isSymbolicLink(),
      })
      report.installed.push({ name, folder: destination, replaced: exists })
    }
    return report
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}
