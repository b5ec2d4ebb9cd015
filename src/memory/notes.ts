/**
 * Reading and writing notes in the memory folder. Writes append (never overwrite), go to today's daily
 * note (`YYYY-MM-DD.md` in the configured time zone) or to a named Markdown file, and never leave the
 * folder: names go through the workspace access object like every other tool path (roots with symlinks
 * resolved, secrets refused, race-free open), with the memory folder as the only root.
 */
import { mkdirSync } from "node:fs"
import { relative, resolve, sep } from "node:path"
import { type Access, createAccess } from "../workspace/access.ts"
import type { Boundary } from "../workspace/boundary.ts"
import { writeFile } from "../workspace/edit.ts"
import { closeFd, Missing, openFile, readAll } from "../workspace/open.ts"

const MAX_NOTE_BYTES = 2 * 1024 * 1024

/** Formatters per zone, built once: every turn asks for today's and yesterday's note names. */
const dayFormats = new Map<string, Intl.DateTimeFormat>()

/** `2025-03-04` for `now` in `timeZone` (default: the process's). */
export function day(now: number, timeZone?: string): string {
  const key = timeZone ?? ""
  let format = dayFormats.get(key)
  // en-CA formats dates as YYYY-MM-DD.
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    dayFormats.set(key, format)
  }
  return format.format(now)
}

export function clock(now: number, timeZone?: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hour12: false }).format(now)
}

/** A note name as the user or model gives it → a path relative to the memory folder, `.md` added. */
export function noteName(name: string): string {
  const clean = name
    .trim()
    .replace(/\\/g, "/")
    .replace(/^memory\//, "")
  if (!clean) throw new Error("the note name is empty")
  return /\.md$/i.test(clean) ? clean : `${clean}.md`
}

/**
 * Notes in `dir`. `boundary` is the workspace's (secret paths refused even inside `dir`); without one,
 * credential file names are still refused.
 */
export function createNotes(dir: string, timeZone?: string, boundary?: Boundary) {
  const root = resolve(dir)
  const access: Access = createAccess({
    read: [root],
    write: [root],
    boundary: boundary ?? { workspace: root, stateDir: "", secret: [], code: [] },
  })
  const locate = (name: string, purpose: "read" | "write"): { file: string; path: string } => {
    mkdirSync(root, { recursive: true })
    const file = access.resolve(noteName(name), purpose)
    return { file, path: relative(access.resolve(".", "read"), file).split(sep).join("/") }
  }
  /** A note's text, or null when it does not exist. */
  const load = (file: string, path: string): string | null => {
    let opened: ReturnType<typeof openFile>
    try {
      opened = openFile(access, file, "read", path)
    } catch (error) {
      if (error instanceof Missing) return null
      throw error
    }
    try {
      return new TextDecoder().decode(readAll(opened, MAX_NOTE_BYTES, path))
    } finally {
      closeFd(opened.fd)
    }
  }
  return {
    today: (now = Date.now()) => `${day(now, timeZone)}.md`,

    /** Lines `from`…`from+lines-1` (1-based) of a note. */
    read(name: string, from = 1, lines = 200): { path: string; text: string; total: number } {
      const { file, path } = locate(name, "read")
      const text = load(file, path)
      if (text === null) throw new Error(`no note ${path} in memory/; find one with memory.search`)
      const all = text.split("\n")
      return { path, text: all.slice(from - 1, from - 1 + lines).join("\n"), total: all.length }
    },

    /** Append `text` as its own paragraph; a daily note gets a time stamp. Returns the relative path. */
    append(text: string, name?: string, now = Date.now()): string {
      const { file, path } = locate(name ?? `${day(now, timeZone)}.md`, "write")
      const existing = load(file, path)
      const before = existing ?? ""
      if (Buffer.byteLength(before) + Buffer.byteLength(text) > MAX_NOTE_BYTES)
        throw new Error(`${path} would exceed ${MAX_NOTE_BYTES} bytes; write to another note`)
      const head = existing !== null ? "" : name ? "" : `# ${day(now, timeZone)}\n`
      const stamp = name ? "" : `## ${clock(now, timeZone)}\n`
      const gap = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n"
      // Appending is read + atomic replace through the access object, so the note stays inside memory/.
      writeFile(access, file, `${before}${gap}${head}${head ? "\n" : ""}${stamp}${text.trim()}\n`)
      return path
    },
  }
}
