/**
 * The memory index: Markdown files under `memory/` mirrored into SQLite FTS5. The files are the source
 * of truth; the index follows them incrementally. A file watcher marks changed paths and the next search
 * re-reads only those (by mtime and size, then by content hash, so a touch without a change costs no
 * write). A full rescan runs at start and every `rescanSeconds` behind the watcher, and on every search
 * when no watcher could be started or the folder is small (EXACT_BELOW notes), so an edit is never
 * missed for long.
 */
import type { Database } from "bun:sqlite"
import { type Dirent, type FSWatcher, mkdirSync, readdirSync, watch } from "node:fs"
import { join, sep } from "node:path"
import { type Access, createAccess } from "../workspace/access.ts"
import { closeFd, type OpenedFile, openFile, readAll } from "../workspace/open.ts"
import { canonical } from "../workspace/roots.ts"
import type { Logger } from "../util/log.ts"
import { ftsQuery } from "./query.ts"

export interface Hit {
  path: string
  title: string
  snippet: string
  score: number
}

export interface IndexOptions {
  db: Database
  /** Absolute path of the memory folder. */
  dir: string
  rescanMs: number
  log: Logger
  /** Watch the folder for changes (default true). */
  watch?: boolean
}

interface FileRow {
  id: number
  path: string
  mtime: number
  size: number
  hash: string
}

const NOTE = /\.md$/i
/**
 * Up to this many notes every search re-checks every file (a few ms), so an edit made a moment ago is
 * never missed even when the watcher's event is still in flight; above it the watcher and the periodic
 * rescan keep search fast.
 */
export const EXACT_BELOW = 256
/** Larger notes are not indexed (memory.write keeps notes under 2 MB). */
const MAX_NOTE_BYTES = 8 * 1024 * 1024

function titleOf(path: string, body: string): string {
  const heading = body.match(/^#{1,6}\s+(.+)$/m)
  return (heading?.[1] ?? path.replace(NOTE, "").split("/").at(-1) ?? path).trim().slice(0, 200)
}

/**
 * Relative paths (with `/`) of every note under `dir`; hidden names are skipped and symlinks are not
 * followed (Bun's recursive readdir follows symlinked folders, which let a link in memory/ index notes
 * from anywhere on the disk).
 */
function listNotes(dir: string): string[] {
  const out: string[] = []
  const visit = (rel: string) => {
    let entries: Dirent[]
    try {
      entries = readdirSync(rel ? join(dir, rel) : dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue
      const path = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isDirectory()) visit(path)
      else if (entry.isFile() && NOTE.test(entry.name)) out.push(path)
    }
  }
  visit("")
  return out
}

export type MemoryIndex = ReturnType<typeof createMemoryIndex>

export function createMemoryIndex(options: IndexOptions) {
  const { db, dir, log } = options
  const q = {
    file: db.query<FileRow, { path: string }>("SELECT * FROM memory_files WHERE path = $path"),
    all: db.query<Pick<FileRow, "id" | "path">, Record<string, never>>("SELECT id, path FROM memory_files"),
    insertFile: db.query<{ id: number }, Record<string, string | number>>(
      "INSERT INTO memory_files (path, mtime, size, hash) VALUES ($path, $mtime, $size, $hash) RETURNING id",
    ),
    updateFile: db.query("UPDATE memory_files SET mtime = $mtime, size = $size, hash = $hash WHERE id = $id"),
    deleteFile: db.query("DELETE FROM memory_files WHERE id = $id"),
    insertFts: db.query("INSERT INTO memory_fts (rowid, path, title, body) VALUES ($id, $path, $title, $body)"),
    deleteFts: db.query("DELETE FROM memory_fts WHERE rowid = $id"),
    search: db.query<Hit, { query: string; limit: number }>(
      `SELECT path, title, snippet(memory_fts, 2, '**', '**', ' … ', 16) AS snippet, bm25(memory_fts, 2.0, 4.0, 1.0) AS score
       FROM memory_fts WHERE memory_fts MATCH $query ORDER BY score LIMIT $limit`,
    ),
    count: db.query<{ n: number }, Record<string, never>>("SELECT count(*) AS n FROM memory_files"),
  }

  // Notes are opened through the workspace access rules with memory/ as the only root: no symlink is
  // followed, only regular files are read, credential names are refused.
  const root = canonical(dir)
  const access: Access = createAccess({
    read: [root],
    write: [],
    boundary: { workspace: root, stateDir: "", secret: [], code: [] },
  })
  const open = (path: string): OpenedFile | null => {
    try {
      return openFile(access, join(root, path), "read", path)
    } catch {
      return null
    }
  }

  /** Bring one file's row up to date; true when the index changed. */
  const refresh = (path: string): boolean => {
    const row = q.file.get({ path })
    const file = open(path)
    if (!file) {
      if (!row) return false
      q.deleteFts.run({ id: row.id })
      q.deleteFile.run({ id: row.id })
      return true
    }
    try {
      if (row && row.mtime === file.mtimeMs && row.size === file.size) return false
      const bytes = Buffer.from(readAll(file, MAX_NOTE_BYTES, path))
      const hash = Bun.hash(bytes).toString(16)
      const info = { mtime: file.mtimeMs, size: file.size, hash }
      if (row && row.hash === hash) {
        q.updateFile.run({ id: row.id, ...info })
        return false
      }
      const body = bytes.toString("utf8")
      let id: number
      if (row) {
        q.deleteFts.run({ id: row.id })
        q.updateFile.run({ id: row.id, ...info })
        id = row.id
      } else id = q.insertFile.get({ path, ...info })!.id
      q.insertFts.run({ id, path, title: titleOf(path, body), body })
      return true
    } catch {
      return false
    } finally {
      closeFd(file.fd)
    }
  }

  const syncPaths = db.transaction((paths: Iterable<string>) => {
    let changed = 0
    for (const path of paths) if (refresh(path)) changed++
    return changed
  })

  let lastFull = 0
  /** Every note on disk against every row: new, changed and deleted files. */
  const rescan = (): number => {
    const started = performance.now()
    const onDisk = listNotes(dir)
    const present = new Set(onDisk)
    const gone = q.all
      .all({})
      .filter((row) => !present.has(row.path))
      .map((row) => row.path)
    // Batches keep each write transaction short when thousands of notes arrive at once.
    let changed = 0
    const all = [...onDisk, ...gone]
    for (let at = 0; at < all.length; at += 1_000) changed += syncPaths.immediate(all.slice(at, at + 1_000))
    lastFull = Date.now()
    if (changed)
      log.info("memory indexed", { changed, files: onDisk.length, ms: Math.round(performance.now() - started) })
    return changed
  }

  const dirty = new Set<string>()
  let everything = false
  let watcher: FSWatcher | null = null
  if (options.watch !== false) {
    try {
      mkdirSync(dir, { recursive: true })
      watcher = watch(dir, { recursive: true }, (_event, name) => {
        const path = name ? String(name).split(sep).join("/") : ""
        if (!path || !NOTE.test(path))
          everything = true // a folder was added, moved or removed
        else dirty.add(path)
      })
      watcher.on("error", (error) => {
        log.warn("memory watcher stopped; every search rescans", { error: String(error) })
        watcher = null
      })
    } catch (error) {
      log.warn("cannot watch the memory folder; every search rescans", { error: String(error) })
    }
  }

  /** Apply what changed since the last call. */
  const catchUp = async (): Promise<void> => {
    // Watcher events of an edit made just before this call are usually one loop turn behind.
    await Bun.sleep(1)
    const stale = options.rescanMs > 0 && Date.now() - lastFull > options.rescanMs
    if (!watcher || everything || stale || q.count.get({})!.n <= EXACT_BELOW) {
      everything = false
      dirty.clear()
      rescan()
      return
    }
    if (dirty.size === 0) return
    const paths = [...dirty]
    dirty.clear()
    syncPaths.immediate(paths.filter((path) => !path.split("/").some((part) => part.startsWith("."))))
  }

  return {
    dir,
    rescan,
    catchUp,
    /** Re-index one note now (after memory.write). */
    touch: (path: string) => syncPaths.immediate([path]),
    count: () => q.count.get({})!.n,

    /** Ranked notes for `text`: all words first; when nothing has them all, any word. */
    async search(text: string, limit = 8): Promise<Hit[]> {
      await catchUp()
      const all = ftsQuery(text, "all")
      if (!all) return []
      const hits = q.search.all({ query: all, limit })
      if (hits.length > 0) return hits
      const any = ftsQuery(text, "any")
      return any && any !== all ? q.search.all({ query: any, limit }) : []
    },
    close() {
      watcher?.close()
      watcher = null
    },
  }
}
