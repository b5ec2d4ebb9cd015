/**
 * The `evolve` tool: the model changes its own tools, prompts or (when listed in
 * evolution.mutableRoots) source and config as one transaction: checkpoint → change → gates → apply or
 * roll back. A failure comes back as an error result carrying the failing gate's output, with the files
 * already restored, so the model can fix the change and call it again.
 */
import { Type } from "../../core/schema.ts"
import type { Change, EvolutionService } from "../../evolve/service.ts"
import type { RegisteredTool } from "../registry.ts"

const ChangeSchema = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      description: "File path relative to the workspace; must be inside evolution.mutableRoots",
    }),
    content: Type.Optional(Type.String({ description: "Write the whole file (creates it if missing)" })),
    search: Type.Optional(
      Type.String({ minLength: 1, description: "Edit: exact text to replace (must occur once unless all is true)" }),
    ),
    replace: Type.Optional(Type.String({ description: "Edit: the replacement for search" })),
    all: Type.Optional(Type.Boolean({ description: "Edit: replace every occurrence" })),
    delete: Type.Optional(Type.Boolean({ description: "Delete the file" })),
  },
  { additionalProperties: false },
)

function toChange(raw: Record<string, unknown>, index: number): Change {
  const path = raw.path as string
  if (raw.delete === true) return { path, delete: true }
  if (typeof raw.content === "string") return { path, content: raw.content }
  if (typeof raw.search === "string" && typeof raw.replace === "string")
    return { path, search: raw.search, replace: raw.replace, all: raw.all === true }
  throw new Error(`changes[${index}] (${path}): give content, or search and replace, or delete: true`)
}

export function evolveTool(service: () => EvolutionService | null): RegisteredTool {
  return {
    name: "evolve",
    source: "builtin",
    description: [
      "Change your own tools, prompts or code safely, as one transaction. The current state of the mutable roots is checkpointed,",
      "your changes are applied with the file tools' rules, then validation gates run (every changed TypeScript file is parsed, a changed",
      "config is loaded with the schema and may not weaken the guarded settings, changed tools are imported and the configured test commands",
      "run in the OS sandbox without secrets or network). If a gate fails, everything is restored exactly and",
      "the gate's output is returned so you can fix it and try again. If all pass, the change is committed: tools and prompts take effect",
      "at the next turn; source or config changes restart the gateway, which rolls back by itself if the new code is not healthy.",
    ].join(" "),
    parameters: Type.Object(
      {
        reason: Type.String({
          minLength: 1,
          description: "Why: one line; it becomes the commit message and the audit entry",
        }),
        changes: Type.Array(ChangeSchema, { minItems: 1, description: "Applied in order" }),
      },
      { additionalProperties: false },
    ),
    async execute(args) {
      const evolution = service()
      if (!evolution) throw new Error("self-evolution is not available in this gateway")
      if (!evolution.enabled)
        throw new Error(evolution.problem ?? "self-evolution is disabled (evolution.enabled is false)")
      const input = args as { reason: string; changes: Record<string, unknown>[] }
      const outcome = await evolution.run({ reason: input.reason, changes: input.changes.map(toChange), by: "tool" })
      if (!outcome.ok) throw new Error(outcome.output)
      return outcome.output
    },
  }
}
