/**
 * `file.write` and `file.edit`: the write side of the file tools. Both refuse any path outside the
 * mutable roots (after resolving symlinks), write atomically (temp file + rename) and report what
 * changed so the model can check its own work.
 */
import { mkdir, rename, stat, writeFile } from "node:fs/promises"
import { dirname } from "node:path"
import { Type } from "../../core/schema.ts"
import type { RegisteredTool } from "../registry.ts"
import { Roots } from "../roots.ts"

const MAX_WRITE_BYTES = 5 * 1024 * 1024

async function atomicWrite(file: string, content: string) {
  await mkdir(dirname(file), { recursive: true })
  const temp = `${file}.drost-${process.pid}-${Date.now()}.tmp`
  await writeFile(temp, content)
  await rename(temp, file)
}

function count(haystack: string, needle: string): number {
  let n = 0
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) n++
  return n
}

export function editTools(roots: () => Roots): RegisteredTool[] {
  const write: RegisteredTool = {
    name: "file.write",
    source: "builtin",
    description:
      "Create or overwrite a text file inside the writable roots with the given content. Parent folders are created. Prefer file.edit for small changes to an existing file.",
    parameters: Type.Object(
      {
        path: Type.String({ minLength: 1, description: "File path, relative to the workspace root" }),
        content: Type.String({ description: "The complete new content of the file" }),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const { path, content } = args as { path: string; content: string }
      if (content.length > MAX_WRITE_BYTES)
        throw new Error(`content is ${content.length} characters; at most ${MAX_WRITE_BYTES} are written`)
      const file = Roots.write(roots(), path)
      const before = await stat(file).catch(() => null)
      if (before?.isDirectory()) throw new Error(`${path} is a folder`)
      await atomicWrite(file, content)
      const lines = content === "" ? 0 : content.split("\n").length
      return `${before ? "overwrote" : "created"} ${Roots.show(roots(), file)} (${lines} lines, ${Buffer.byteLength(content)} bytes)`
    },
  }

  const edit: RegisteredTool = {
    name: "file.edit",
    source: "builtin",
    description:
      "Edit a text file by exact search and replace. `search` must match the file's text exactly (whitespace included) and, unless `all` is true, exactly once; include surrounding lines to make it unique.",
    parameters: Type.Object(
      {
        path: Type.String({ minLength: 1, description: "File path, relative to the workspace root" }),
        search: Type.String({ minLength: 1, description: "Exact text to find" }),
        replace: Type.String({ description: "Text to put in its place" }),
        all: Type.Optional(
          Type.Boolean({ description: "Replace every occurrence (default false: exactly one must exist)" }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const {
        path,
        search,
        replace,
        all = false,
      } = args as { path: string; search: string; replace: string; all?: boolean }
      const file = Roots.write(roots(), path)
      const info = await stat(file).catch(() => null)
      if (!info) throw new Error(`no such file: ${path}; use file.write to create it`)
      if (info.isDirectory()) throw new Error(`${path} is a folder`)
      const text = await Bun.file(file).text()
      const found = count(text, search)
      if (found === 0)
        throw new Error(
          `the search text was not found in ${path}; read the file and copy the exact text (whitespace included)`,
        )
      if (found > 1 && !all)
        throw new Error(
          `the search text occurs ${found} times in ${path}; add surrounding lines to make it unique, or set all: true`,
        )
      const next = all ? text.split(search).join(replace) : text.replace(search, () => replace)
      await atomicWrite(file, next)
      const line = text.slice(0, text.indexOf(search)).split("\n").length
      return `edited ${Roots.show(roots(), file)}: ${all ? found : 1} replacement${found > 1 && all ? "s" : ""}, first at line ${line}`
    },
  }
  return [write, edit]
}
