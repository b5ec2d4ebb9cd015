/**
 * `file.read`, `file.list` and `file.glob`: the read side of the file tools, through the workspace
 * access object (src/workspace/): confined to the readable roots, secrets refused (and left out of
 * listings), opened race-free, only regular files read. The write side (`file.write`, `file.edit`) is
 * in edit.ts.
 */
import { Type } from "../../core/schema.ts"
import type { Access } from "../../workspace/access.ts"
import { listDir, readBytes } from "../../workspace/open.ts"
import { walk } from "../../workspace/walk.ts"
import type { RegisteredTool } from "../registry.ts"
import { editTools } from "./edit.ts"

const MAX_READ_BYTES = 5 * 1024 * 1024
const GLOB_LIMIT = 1000

export function fileTools(access: () => Access): RegisteredTool[] {
  const read: RegisteredTool = {
    name: "file.read",
    source: "builtin",
    description:
      "Read a text file inside the workspace. Returns numbered lines. Use offset/limit for long files (lines are 1-based).",
    parameters: Type.Object(
      {
        path: Type.String({ minLength: 1, description: "File path, relative to the workspace root" }),
        offset: Type.Optional(Type.Integer({ minimum: 1, description: "First line to return (1-based)" })),
        limit: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 5000, description: "Number of lines to return (default 400)" }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const { path, offset = 1, limit = 400 } = args as { path: string; offset?: number; limit?: number }
      const { path: file, bytes } = readBytes(access(), path, MAX_READ_BYTES)
      if (bytes.subarray(0, 8000).includes(0))
        throw new Error(`${path} looks binary (${bytes.length} bytes); not shown`)
      const content = new TextDecoder().decode(bytes)
      const lines = (content.endsWith("\n") ? content.slice(0, -1) : content).split("\n")
      if (offset > lines.length && lines.length > 0)
        throw new Error(`${path} has ${lines.length} lines; offset ${offset} is past the end`)
      const slice = lines.slice(offset - 1, offset - 1 + limit)
      const width = String(offset + slice.length).length
      const body = slice.map((line, index) => `${String(offset + index).padStart(width)}  ${line}`).join("\n")
      const more =
        offset - 1 + slice.length < lines.length
          ? `\n… ${lines.length - (offset - 1 + slice.length)} more lines (use offset)`
          : ""
      return `${access().show(file)} (${lines.length} lines)\n${body}${more}`
    },
  }

  const list: RegisteredTool = {
    name: "file.list",
    source: "builtin",
    description: "List the entries of a folder inside the workspace (folders end with /).",
    parameters: Type.Object(
      {
        path: Type.Optional(
          Type.String({ description: "Folder path relative to the workspace root (default: the root)" }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const path = (args as { path?: string }).path ?? "."
      const { entries } = listDir(access(), path)
      const names = entries
        .filter((entry) => entry.name !== ".git" && entry.name !== "node_modules" && entry.name !== ".drost")
        .map((entry) =>
          entry.isDirectory() ? `${entry.name}/` : entry.isSymbolicLink() ? `${entry.name}@` : entry.name,
        )
        .sort((a, b) => Number(b.endsWith("/")) - Number(a.endsWith("/")) || a.localeCompare(b))
      return names.length ? names.join("\n") : "(empty folder)"
    },
  }

  const glob: RegisteredTool = {
    name: "file.glob",
    source: "builtin",
    description:
      'Find files by glob pattern (e.g. "src/**/*.ts", "*.md"), honouring .gitignore. Returns workspace-relative paths, at most 1000.',
    parameters: Type.Object(
      {
        pattern: Type.String({ minLength: 1, description: "Glob pattern relative to `path` (** crosses folders)" }),
        path: Type.Optional(Type.String({ description: "Folder to search in (default: the workspace root)" })),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const { pattern, path = "." } = args as { pattern: string; path?: string }
      const dir = access().resolve(path, "read")
      const matcher = new Bun.Glob(pattern)
      const found: string[] = []
      // for-await closes the walk's folder handles when the loop stops early.
      for await (const entry of walk(access(), dir, { maxFiles: 200_000, signal: ctx.signal })) {
        if (!matcher.match(entry.path.slice(dir.length + 1))) continue
        found.push(access().show(entry.path))
        if (found.length >= GLOB_LIMIT)
          return `${found.join("\n")}\n… stopped at ${GLOB_LIMIT} matches; narrow the pattern`
      }
      return found.length ? found.join("\n") : `no files match ${pattern} under ${path}`
    },
  }
  return [read, list, glob, ...editTools(access)]
}
