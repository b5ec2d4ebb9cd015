/**
 * The approvals journal: one JSONL line per request and per decision, in the state folder
 * (`.drost/approvals.jsonl`, mode 0600, out of every tool's reach). Written synchronously before the
 * wait starts and before a call runs, so a crash at any point leaves a request without a decision —
 * which the next start finds and records as denied, never as granted.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Decided, Pending } from "./approval.ts"

export type Entry = ({ type: "requested" } & Pending) | ({ type: "decided" } & Decided)

export const journalFile = (stateDir: string) => join(stateDir, "approvals.jsonl")

export function createJournal(file: string) {
  const append = (entry: Entry) => appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 })
  return {
    file,
    requested: (pending: Pending) => append({ type: "requested", ...pending }),
    decided: (decided: Decided) => append({ type: "decided", ...decided }),
    /** Requests with no decision: the gateway stopped (crash, kill -9) while they waited. */
    open(): Pending[] {
      if (!existsSync(file)) return []
      const open = new Map<string, Pending>()
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue
        let entry: Entry
        try {
          entry = JSON.parse(line) as Entry
        } catch {
          continue // a line cut by a crash mid-write: its request, if any, is on an earlier line
        }
        if (entry.type === "requested") {
          const { type: _, ...pending } = entry
          open.set(entry.id, pending)
        } else open.delete(entry.id)
      }
      return [...open.values()]
    },
  }
}

export type Journal = ReturnType<typeof createJournal>
