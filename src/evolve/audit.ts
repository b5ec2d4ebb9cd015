/**
 * The evolution history: one record per transaction, appended as a full snapshot to
 * `.drost/evolution/history.jsonl` at every step (the newest line per id wins). A plain append-only
 * file, not SQLite, because two processes write it (the gateway and, for a failed health gate, the
 * supervisor) and `drost evolution log` must work while the gateway is down.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { FileChange } from "./git.ts"

export type Status = "running" | "restarting" | "applied" | "rolled_back" | "failed"

export interface Step {
  /** checkpoint, change, gate:parse, gate:tools, gate:command, commit, restart, health, rollback, recover */
  name: string
  ok: boolean
  output: string
  durationMs: number
  at: number
}

export interface EvolutionRecord {
  id: string
  reason: string
  /** Who asked: tool, api, cli, … */
  by: string
  status: Status
  startedAt: number
  endedAt: number | null
  before: string | null
  after: string | null
  files: FileChange[]
  steps: Step[]
  /** One line: why it ended the way it did. */
  verdict: string | null
  /** Present when the change needed a restart into new code. */
  restart: { needed: boolean; verdictAt?: number; healthyAt?: number; healthyAfterMs?: number } | null
  revertOf?: string
}

export const OUTPUT_LIMIT = 8000

/** Keep the end of long output: the failing test or the error is usually last. */
export function clip(text: string, limit = OUTPUT_LIMIT): string {
  return text.length <= limit ? text : `… [${text.length - limit} characters cut]\n${text.slice(-limit)}`
}

export function historyFile(stateDir: string): string {
  return join(stateDir, "evolution", "history.jsonl")
}

export function createAudit(stateDir: string) {
  const file = historyFile(stateDir)
  return {
    file,
    save(record: EvolutionRecord) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
      appendFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 })
    },
    /** Newest first. */
    list(): EvolutionRecord[] {
      if (!existsSync(file)) return []
      const latest = new Map<string, EvolutionRecord>()
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue
        try {
          const record = JSON.parse(line) as EvolutionRecord
          latest.delete(record.id)
          latest.set(record.id, record)
        } catch {
          // A torn last line after a crash: skip it, the previous snapshot stands.
        }
      }
      return [...latest.values()].sort((a, b) => b.startedAt - a.startedAt)
    },
    get(id: string): EvolutionRecord | null {
      return this.list().find((record) => record.id === id) ?? null
    },
  }
}

export type Audit = ReturnType<typeof createAudit>
