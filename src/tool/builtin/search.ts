/**
 * `code.search`: regex or literal search over the workspace in-process (no ripgrep or grep needed),
 * honouring .gitignore, skipping binary and very large files, and capping the matches so a broad
 * pattern returns a useful prefix instead of a flood. Patterns run on a linear-time engine (pattern.ts);
 * files are walked and opened through the workspace access object, so secrets are never searched; the
 * bytes scanned per call are capped and the event loop gets a turn between chunks, so one search cannot
 * hold up the gateway.
 */
import { lstat } from "node:fs/promises"
import { Type } from "../../core/schema.ts"
import type { Access } from "../../workspace/access.ts"
import { closeFd, openFile, readAll } from "../../workspace/open.ts"
import { walk } from "../../workspace/walk.ts"
import type { RegisteredTool } from "../registry.ts"
import { compile, MAX_PATTERN } from "./pattern.ts"

const MAX_FILE_BYTES = 2 * 1024 * 1024
const MAX_FILES = 50_000
/** Bytes scanned per call; past this the search stops and says so. */
export const MAX_SCAN_BYTES = 32 * 1024 * 1024
/** Bytes matched between two turns of the event loop. */
const SLICE_BYTES = 256 * 1024

const turn = () => new Promise<void>((done) => setImmediate(done))

export function searchTool(access: () => Access): RegisteredTool {
  return {
    name: "code.search",
    source: "builtin",
    description:
      "Search file contents under the workspace for a regular expression (RE2 syntax, linear time: no backreferences or lookahead) or, with literal: true, an exact string. Honours .gitignore. Returns path:line: text, at most `limit` matches.",
    parameters: Type.Object(
      {
        pattern: Type.String({
          minLength: 1,
          maxLength: MAX_PATTERN,
          description: "Regular expression (RE2 syntax), or the exact text when literal is true",
        }),
        literal: Type.Optional(Type.Boolean({ description: "Treat pattern as plain text (default false)" })),
        ignoreCase: Type.Optional(Type.Boolean({ description: "Case-insensitive (default false)" })),
        path: Type.Optional(Type.String({ description: "Folder (or file) to search (default: the workspace root)" })),
        glob: Type.Optional(
          Type.String({ description: 'Only files whose relative path matches this glob, e.g. "**/*.ts"' }),
        ),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000, description: "Maximum matches (default 200)" })),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const a = args as {
        pattern: string
        literal?: boolean
        ignoreCase?: boolean
        path?: string
        glob?: string
        limit?: number
      }
      const limit = a.limit ?? 200
      const regex = await compile(a.pattern, a)
      const files = access()
      const base = files.resolve(a.path ?? ".", "read")
      const info = await lstat(base).catch(() => null)
      if (!info) throw new Error(`no such file or folder: ${a.path}`)
      const matcher = a.glob ? new Bun.Glob(a.glob) : null
      const out: string[] = []
      let searched = 0
      let scanned = 0
      let sinceTurn = 0
      let budget = false
      /** Search one file's bytes; true when the search must stop (limit, budget or abort). */
      const search = async (path: string, bytes: Uint8Array | null): Promise<boolean> => {
        if (!bytes || bytes.length === 0 || bytes.subarray(0, 8000).includes(0)) return false
        if (scanned + bytes.length > MAX_SCAN_BYTES) {
          budget = true
          return true
        }
        searched++
        scanned += bytes.length
        const lines = new TextDecoder().decode(bytes).split("\n")
        for (let index = 0; index < lines.length; index++) {
          const text = lines[index]!
          sinceTurn += text.length + 1
          if (sinceTurn > SLICE_BYTES) {
            sinceTurn = 0
            await turn()
            if (ctx.signal.aborted) return true
          }
          if (!regex.test(text)) continue
          out.push(`${files.show(path)}:${index + 1}: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`)
          if (out.length >= limit) return true
        }
        return false
      }
      let stopped = false
      let truncated = false
      if (!info.isDirectory()) {
        const file = openFile(files, base, "read", a.path)
        let bytes: Uint8Array | null = null
        try {
          bytes = file.size > MAX_FILE_BYTES ? null : readAll(file, MAX_FILE_BYTES, a.path ?? base)
        } finally {
          closeFd(file.fd)
        }
        stopped = await search(base, bytes)
      } else {
        const walker = walk(files, base, { maxFiles: MAX_FILES, signal: ctx.signal })
        try {
          for (;;) {
            const next = await walker.next()
            if (next.done) {
              truncated = next.value.truncated
              break
            }
            if (matcher && !matcher.match(next.value.path.slice(base.length + 1))) continue
            stopped = await search(next.value.path, next.value.read(MAX_FILE_BYTES))
            if (stopped) break
          }
        } finally {
          // Closes the folder handles the walk still holds.
          await walker.return({ truncated: false })
        }
      }
      if (ctx.signal.aborted) throw new Error(`the search was stopped (timeout or cancel) after ${searched} files`)
      const notes = [
        out.length >= limit ? `stopped at ${limit} matches; narrow the pattern or raise limit` : "",
        budget ? `stopped after ${MAX_SCAN_BYTES} bytes in ${searched} files; narrow the path or glob` : "",
        truncated ? `only the first ${MAX_FILES} files were searched` : "",
      ].filter(Boolean)
      if (out.length === 0)
        return [
          `no matches for ${a.literal ? JSON.stringify(a.pattern) : `/${a.pattern}/`} in ${searched} files`,
          ...notes.map((note) => `… ${note}`),
        ].join("\n")
      return [...out, ...notes.map((note) => `… ${note}`)].join("\n")
    },
  }
}
