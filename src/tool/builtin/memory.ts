/**
 * `memory.search`, `memory.get`, `memory.write`: the agent's long-term memory as Markdown notes under
 * `memory/`, searched through the FTS5 index. The service is passed in, so this file only describes the
 * tools the model sees.
 */
import { Type } from "../../core/schema.ts"
import type { MemoryIndex } from "../../memory/index.ts"
import type { createNotes } from "../../memory/notes.ts"
import type { RegisteredTool } from "../registry.ts"

export interface MemoryService {
  index: MemoryIndex
  notes: ReturnType<typeof createNotes>
}

export function memoryTools(memory: MemoryService): RegisteredTool[] {
  const search: RegisteredTool = {
    name: "memory.search",
    source: "builtin",
    description:
      "Search the memory notes (Markdown files under memory/) by words. Returns the best matching notes with a snippet each; open one with memory.get. Plain words work best; punctuation and operators are ignored.",
    parameters: Type.Object(
      {
        query: Type.String({ minLength: 1, description: "Words to look for" }),
        limit: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 50, description: "Most notes to return (default 8)" }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const { query, limit } = args as { query: string; limit?: number }
      const hits = await memory.index.search(query, limit ?? 8)
      if (hits.length === 0) return `no notes match "${query}"`
      return hits
        .map((hit, rank) => `${rank + 1}. ${hit.path} — ${hit.title}\n   ${hit.snippet.replace(/\s+/g, " ").trim()}`)
        .join("\n")
    },
  }

  const get: RegisteredTool = {
    name: "memory.get",
    source: "builtin",
    description: "Read a memory note by its path inside memory/ (as memory.search shows it). Returns numbered lines.",
    parameters: Type.Object(
      {
        path: Type.String({ minLength: 1, description: "Note path, e.g. 2025-03-04.md or people/alice.md" }),
        from: Type.Optional(Type.Integer({ minimum: 1, description: "First line (1-based, default 1)" })),
        lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000, description: "Number of lines (default 200)" })),
      },
      { additionalProperties: false },
    ),
    execute(args) {
      const { path, from = 1, lines = 200 } = args as { path: string; from?: number; lines?: number }
      const note = memory.notes.read(path, from, lines)
      const body = note.text
        .split("\n")
        .map((line, offset) => `${String(from + offset).padStart(4)}  ${line}`)
        .join("\n")
      const shown = Math.min(lines, Math.max(0, note.total - from + 1))
      return `${note.path} (${note.total} lines)\n${body}${from - 1 + shown < note.total ? `\n… more from line ${from + shown}` : ""}`
    },
  }

  const write: RegisteredTool = {
    name: "memory.write",
    source: "builtin",
    description:
      "Remember something: append text to today's daily note (memory/YYYY-MM-DD.md), or to a named note inside memory/ (created if missing). Never overwrites.",
    parameters: Type.Object(
      {
        text: Type.String({ minLength: 1, description: "Markdown to append" }),
        file: Type.Optional(
          Type.String({
            minLength: 1,
            description: "Note name inside memory/, e.g. people/alice (default: today's note)",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    execute(args) {
      const { text, file } = args as { text: string; file?: string }
      const path = memory.notes.append(text, file)
      memory.index.touch(path)
      return `appended to memory/${path}`
    },
  }
  return [search, get, write]
}
