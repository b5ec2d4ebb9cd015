/**
 * Reading and writing notes in the memory folder. Writes append (never overwrite), go to today's daily
 * note (`YYYY-MM-DD.md` in the configured time zone) or to a named Markdown file, and never leave the
 * folder: names are resolved like every other workspace path, symlinks included.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs"
import { dirname, relative, sep } from "node:path"
import { resolveIn } from "../tool/roots.ts"

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

export function createNotes(dir: string, timeZone?: string) {
  const locate = (name: string): { file: string; path: string } => {
    mkdirSync(dir, { recursive: true })
    const file = resolveIn([dir], noteName(name))
    return {
      file,
      path: relative(resolveIn([dir], "."), file)
        .split(sep)
        .join("/"),
    }
  }
  return {
    today: (now = Date.now()) => `${day(now, timeZone)}.md`,

    /** Lines `from`…`from+lines-1` (1-based) of a note. */
    read(name: string, from = 1, lines = 200): { path: string; text: string; total: number } {
      const { file, path } = locate(name)
      if (!existsSync(file)) throw new Error(`no note ${path} in memory/; find one with memory.search`)
      if (statSync(file).size > MAX_NOTE_BYTES) throw new Error(`${path} is larger than ${MAX_NOTE_BYTES} bytes`)
      const all = readFileSync(file, "utf8").split("\n")
      return { path, text: all.slice(from - 1, from - 1 + lines).join("\n"), total: all.length }
    },

    /** Append `text` as its own paragraph; a daily note gets a time stamp. Returns the relative path. */
    append(text: string, name?: string, now = Date.now()): string {
      const { file, path } = locate(name ?? `${day(now, timeZone)}.md`)
      mkdirSync(dirname(file), { recursive: true })
      const exists = existsSync(file)
      const before = exists ? readFileSync(file, "utf8") : ""
      if (Buffer.byteLength(before) + Buffer.byteLength(text) > MAX_NOTE_BYTES)
        throw new Error(`${path} would exceed ${MAX_NOTE_BYTES} bytes; write to another note`)
      const head = exists ? "" : name ? "" : `# ${day(now, timeZone)}\n`
      const stamp = name ? "" : `## ${clock(now, timeZone)}\n`
      const gap = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n"
      appendFileSync(file, `${gap}${head}${head ? "\n" : ""}${stamp}${text.trim()}\n`)
      return path
    },
  }
}
