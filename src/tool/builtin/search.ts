/**
 * `code.search`: regex or literal search over the workspace in-process (no ripgrep or grep needed),
 * honouring .gitignore, skipping binary and very large files, and capping the matches so a broad
 * pattern returns a useful prefix instead of a flood.
 */
import { stat } from "node:fs/promises"
import { Type } from "../../core/schema.ts"
import type { RegisteredTool } from "../registry.ts"
import { Roots } from "../roots.ts"
import { walk } from "./walk.ts"

const MAX_FILE_BYTES = 2 * 1024 * 1024
const MAX_FILES = 50_000

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
}

export function searchTool(roots: () => Roots): RegisteredTool {
  return {
    name: "code.search",
    source: "builtin",
    description:
      "Search file contents under the workspace for a regular expression (JavaScript syntax) or, with literal: true, an exact string. Honours .gitignore. Returns path:line: text, at most `limit` matches.",
    parameters: Type.Object(
      {
        pattern: Type.String({
          minLength: 1,
          description: "Regular expression, or the exact text when literal is true",
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
      let regex: RegExp
      try {
        regex = new RegExp(a.literal ? escapeRegex(a.pattern) : a.pattern, a.ignoreCase ? "i" : "")
      } catch (error) {
        throw new Error(`invalid regular expression: ${(error as Error).message}; fix it or pass literal: true`)
      }
      const base = Roots.read(roots(), a.path ?? ".")
      const info = await stat(base).catch(() => null)
      if (!info) throw new Error(`no such file or folder: ${a.path}`)
      const matcher = a.glob ? new Bun.Glob(a.glob) : null
      const out: string[] = []
      let files = 0
      const search = async (file: string): Promise<boolean> => {
        const size = (await stat(file).catch(() => null))?.size ?? 0
        if (size > MAX_FILE_BYTES || size === 0) return false
        const bytes = new Uint8Array(await Bun.file(file).arrayBuffer())
        if (bytes.subarray(0, 8000).includes(0)) return false
        files++
        const lines = new TextDecoder().decode(bytes).split("\n")
        for (let index = 0; index < lines.length; index++) {
          if (!regex.test(lines[index]!)) continue
          const line = lines[index]!.length > 300 ? `${lines[index]!.slice(0, 300)}…` : lines[index]!
          out.push(`${Roots.show(roots(), file)}:${index + 1}: ${line}`)
          if (out.length >= limit) return true
        }
        return false
      }
      let full = false
      let truncated = false
      if (info.isFile()) full = await search(base)
      else {
        const walker = walk(base, { maxFiles: MAX_FILES, signal: ctx.signal })
        for (;;) {
          const next = await walker.next()
          if (next.done) {
            truncated = next.value.truncated
            break
          }
          if (matcher && !matcher.match(next.value.slice(base.length + 1))) continue
          full = await search(next.value)
          if (full) break
        }
      }
      if (out.length === 0)
        return `no matches for ${a.literal ? JSON.stringify(a.pattern) : `/${a.pattern}/`} in ${files} files`
      const notes = [
        full ? `stopped at ${limit} matches; narrow the pattern or raise limit` : "",
        truncated ? `only the first ${MAX_FILES} files were searched` : "",
      ]
      return [...out, ...notes.filter(Boolean).map((note) => `… ${note}`)].join("\n")
    },
  }
}
