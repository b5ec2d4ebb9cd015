/**
 * `drost restore` (docs/operations.md#restore): unpack a backup into a workspace. The whole archive is
 * read and checked first — a drost manifest, every entry listed with the right SHA-256 and a safe path,
 * nothing unlisted — so a damaged or foreign archive is refused before anything is written. A workspace
 * that already holds state is only restored over with `force`, and its old state folder and files are
 * first moved aside into `.drost.before-restore-<time>/` (renames, nothing deleted). While restoring,
 * the restore holds the workspace lock, so a gateway started meanwhile refuses instead of opening a
 * half-written store; one already running makes the restore refuse.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { DrostError } from "../core/error.ts"
import { acquire } from "../gateway/lock.ts"
import { alive } from "../util/process.ts"
import { BadArchive, foreign, MANIFEST, type Manifest, safePath, sha256 } from "./manifest.ts"

export interface RestoreOptions {
  workspace: string
  force: boolean
}

export interface RestoreResult {
  manifest: Manifest
  workspace: string
  stateDir: string
  files: number
  /** Where the old state was moved, when `force` found some. */
  aside: string | null
}

/** Read and verify an archive; throws BadArchive with one line naming the problem. */
export async function readBackup(file: string): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> }> {
  if (!existsSync(file)) throw new DrostError("NotFound", `${file} does not exist`)
  let entries: Map<string, File>
  try {
    entries = await new Bun.Archive(readFileSync(file)).files()
  } catch (error) {
    throw new BadArchive(file, `not a readable archive (${(error as Error).message})`)
  }
  const head = entries.get(MANIFEST)
  if (!head) throw new BadArchive(file, `not a drost backup (no ${MANIFEST})`)
  let manifest: Manifest
  try {
    manifest = JSON.parse(await head.text()) as Manifest
  } catch {
    throw new BadArchive(file, `its ${MANIFEST} is not JSON`)
  }
  const why = foreign(manifest)
  if (why) throw new BadArchive(file, why)
  const files = new Map<string, Uint8Array>()
  for (const entry of manifest.files) {
    if (!safePath(entry.path)) throw new BadArchive(file, `the manifest names an unsafe path "${entry.path}"`)
    const found = entries.get(entry.path)
    if (!found) throw new BadArchive(file, `damaged: ${entry.path} is missing`)
    const bytes = new Uint8Array(await found.arrayBuffer())
    if (bytes.byteLength !== entry.size || sha256(bytes) !== entry.sha256)
      throw new BadArchive(file, `damaged: ${entry.path} does not match its checksum`)
    files.set(entry.path, bytes)
  }
  for (const name of entries.keys())
    if (name !== MANIFEST && !files.has(name)) throw new BadArchive(file, `damaged: ${name} is not in the manifest`)
  return { manifest, files }
}

function holder(stateDir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(stateDir, "gateway.pid"), "utf8")) as { pid: number }).pid
    return Number.isInteger(pid) && pid !== process.pid && alive(pid) ? pid : null
  } catch {
    return null
  }
}

const stamp = () =>
  new Date()
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/:/g, "-")

export async function restoreBackup(file: string, options: RestoreOptions): Promise<RestoreResult> {
  const { manifest, files } = await readBackup(resolve(file))
  const workspace = resolve(options.workspace)
  const stateDir = join(workspace, ".drost")
  const pid = holder(stateDir)
  if (pid !== null)
    throw new DrostError(
      "Running",
      `a gateway (pid ${pid}) runs on ${workspace}; stop it first (drost stop), then restore`,
      { pid },
    )
  // What the archive would write at the top of the workspace, and what is there already.
  const tops = new Set<string>([".drost"])
  for (const path of files.keys()) if (path.startsWith("workspace/")) tops.add(path.split("/")[1]!)
  const present = [...tops].filter((name) =>
    name === ".drost" ? existsSync(stateDir) && readdirSync(stateDir).length > 0 : existsSync(join(workspace, name)),
  )
  let aside: string | null = null
  if (present.length) {
    if (!options.force)
      throw new DrostError(
        "NotEmpty",
        `${workspace} is not empty (${present.join(", ")}); restore into an empty folder, or pass --force to move the old state aside`,
      )
    aside = join(workspace, `.drost.before-restore-${stamp()}`)
    mkdirSync(join(aside, "workspace"), { recursive: true, mode: 0o700 })
    for (const name of present)
      renameSync(join(workspace, name), name === ".drost" ? join(aside, "state") : join(aside, "workspace", name))
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const lock = acquire(stateDir)
  const modes = new Map(manifest.files.map((entry) => [entry.path, entry.mode]))
  try {
    for (const [path, bytes] of files) {
      const [root, ...rest] = path.split("/")
      const target = join(root === "state" ? stateDir : workspace, ...rest)
      mkdirSync(dirname(target), { recursive: true, mode: root === "state" ? 0o700 : 0o755 })
      const mode = modes.get(path)!
      writeFileSync(target, bytes, { mode })
      chmodSync(target, mode)
    }
  } finally {
    lock.release()
  }
  return { manifest, workspace, stateDir, files: files.size, aside }
}
