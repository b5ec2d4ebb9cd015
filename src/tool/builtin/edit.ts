/**
 * `file.write` and `file.edit`: the write side of the file tools. The work is done by the workspace
 * module (src/workspace/edit.ts), which refuses anything outside the mutable roots, secrets and loaded
 * code (that changes through `evolve`), opens race-free and writes atomically; this file describes the
 * tools the model sees.
 */
import { Type } from "../../core/schema.ts"
import type { Access } from "../../workspace/access.ts"
import { editFile, writeFile } from "../../workspace/edit.ts"
import type { RegisteredTool } from "../registry.ts"

export function editTools(access: () => Access): RegisteredTool[] {
  const write: RegisteredTool = {
    name: "file.write",
    source: "builtin",
    description:
      "Create or overwrite a text file inside the writable roots with the given content. Parent folders are created. Prefer file.edit for small changes to an existing file. Loaded code (the config, tools/, src/, prompts/, node_modules/, skills/) changes only through the evolve tool.",
    parameters: Type.Object(
      {
        path: Type.String({ minLength: 1, description: "File path, relative to the workspace root" }),
        content: Type.String({ description: "The complete new content of the file" }),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const { path, content } = args as { path: string; content: string }
      return writeFile(access(), path, content)
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
      const { path, ...change } = args as { path: string; search: string; replace: string; all?: boolean }
      return editFile(access(), path, change)
    },
  }
  return [write, edit]
}
