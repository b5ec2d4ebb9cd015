/**
 * GET /control/v1/evolution/:id/diff: what one evolution changed, as a unified diff per file, read
 * from the evolution repository (checkpoint commit → evolve commit). Admin token only, though it is a
 * read: a mutable root can be the config, and its lines may hold a secret the read token must not see.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import type { Tokens } from "../gateway/token.ts"
import { roleOf } from "./auth.ts"
import { described, problem } from "./schemas.ts"

const CONTEXT = 3
/** Past this many lines on either side the LCS table is too big; the file is shown as replaced. */
const MAX_LINES = 4000

type Edit = { kind: " " | "-" | "+"; line: string }

function edits(before: string[], after: string[]): Edit[] {
  if (before.length > MAX_LINES || after.length > MAX_LINES)
    return [
      ...before.map((line) => ({ kind: "-" as const, line })),
      ...after.map((line) => ({ kind: "+" as const, line })),
    ]
  const n = before.length
  const m = after.length
  // lcs[i][j]: longest common subsequence of before[i..] and after[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = before[i] === after[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
  const out: Edit[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      out.push({ kind: " ", line: before[i]! })
      i++
      j++
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ kind: "-", line: before[i++]! })
    else out.push({ kind: "+", line: after[j++]! })
  }
  return out
}

const lines = (text: string | null) => (text === null || text === "" ? [] : text.replace(/\n$/, "").split("\n"))

/** A unified diff of one file (`null`: the file did not exist on that side). */
export function unifiedDiff(path: string, before: string | null, after: string | null): string {
  const all = edits(lines(before), lines(after))
  const header = `--- ${before === null ? "/dev/null" : `a/${path}`}\n+++ ${after === null ? "/dev/null" : `b/${path}`}\n`
  const hunks: string[] = []
  let index = 0
  while (index < all.length) {
    if (all[index]!.kind === " ") {
      index++
      continue
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT lines after the last change near it.
    let start = Math.max(0, index - CONTEXT)
    let end = index
    while (end < all.length) {
      let next = end
      while (next < all.length && all[next]!.kind === " ") next++
      if (next >= all.length || next - end > 2 * CONTEXT) break
      end = next + 1
    }
    end = Math.min(all.length, end + CONTEXT)
    const slice = all.slice(start, end)
    const oldStart = all.slice(0, start).filter((edit) => edit.kind !== "+").length + 1
    const newStart = all.slice(0, start).filter((edit) => edit.kind !== "-").length + 1
    const oldCount = slice.filter((edit) => edit.kind !== "+").length
    const newCount = slice.filter((edit) => edit.kind !== "-").length
    hunks.push(
      `@@ -${oldCount ? oldStart : oldStart - 1},${oldCount} +${newCount ? newStart : newStart - 1},${newCount} @@\n${slice
        .map((edit) => `${edit.kind}${edit.line}\n`)
        .join("")}`,
    )
    index = end
    start = end
  }
  return header + hunks.join("")
}

const FileDiff = t.Object({
  path: t.String(),
  status: t.String({ description: "added | modified | deleted" }),
  patch: t.String({ description: "Unified diff (3 lines of context)" }),
})

export function evolutionDiffRoutes(gw: Gateway, tokens: Tokens) {
  return new Elysia({ prefix: "/control/v1" }).get(
    "/evolution/:id/diff",
    async ({ params, request, status }) => {
      if (roleOf(request, tokens) !== "admin")
        return status(403, {
          error: "Forbidden",
          message: "an evolution's diff needs the admin token (a mutable root may be the config)",
        })
      const record = gw.evolution.get(params.id)
      if (!record) return status(404, { error: "NotFound", message: `unknown evolution "${params.id}"` })
      const files = []
      // No evolve commit (the gates failed, or it is still running): nothing was kept, nothing to show.
      if (record.before && record.after)
        for (const file of record.files) {
          const [before, after] = await Promise.all([
            gw.evolution.repo.read(record.before, file.path),
            gw.evolution.repo.read(record.after, file.path),
          ])
          files.push({ path: file.path, status: file.status, patch: unifiedDiff(file.path, before, after) })
        }
      return { id: record.id, before: record.before, after: record.after, files }
    },
    {
      params: t.Object({ id: t.String({ description: "Evolution id (evo_…)" }) }),
      response: {
        200: described(
          t.Object({
            id: t.String(),
            before: t.Union([t.String(), t.Null()], { description: "Checkpoint commit" }),
            after: t.Union([t.String(), t.Null()], { description: "Evolve commit; null: nothing was kept" }),
            files: t.Array(FileDiff),
          }),
          "Each changed file's unified diff, checkpoint to evolve commit",
        ),
        403: problem("Needs the admin token"),
        404: problem("Unknown evolution"),
      },
      detail: {
        operationId: "getEvolutionDiff",
        tags: ["evolution"],
        summary: "An evolution's diff",
        description:
          "A unified diff per changed file, from the checkpoint commit to the evolve commit. Empty `files` when the change was not kept (gates failed). Needs the admin token: a mutable root may be the config.",
      },
    },
  )
}
