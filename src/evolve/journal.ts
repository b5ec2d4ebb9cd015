/**
 * The journal of the transaction in flight (`.drost/evolution/journal.json`), written atomically at
 * each stage. It is how a crash mid-transaction is recovered at the next start, and how the gateway
 * hands a change that needs a restart to the supervisor, which runs the health gate and, if it fails,
 * restores `before` with the old (trusted) code before starting the gateway again.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { EvolutionRecord } from "./audit.ts"

export interface Journal {
  id: string
  reason: string
  /** The checkpoint commit: what a rollback restores. */
  before: string
  /** The evolve commit, once the gates passed. */
  after?: string
  stage: "changing" | "gating" | "restarting"
  /** Folders that existed at the checkpoint (kept by a restore even when empty). */
  folders: string[]
  roots: string[]
  startedAt: number
  /**
   * Where the transaction was made and with which gate settings, from the config that was trusted
   * then: the supervisor rolls back with these, never with the changed config (which may not load,
   * or may point elsewhere). Absent in journals written before they existed.
   */
  workspace?: string
  stateDir?: string
  gate?: { timeoutMs: number; canary: boolean; rollbackOnFailure: boolean }
  /** Set by the supervisor when the health gate failed and it rolled back. */
  health?: {
    ok: boolean
    detail: string
    verdictAt: number
    rolledBack: boolean
    durationMs: number
    /** The supervisor already wrote the outcome to the audit; the gateway only publishes the events. */
    recorded?: boolean
  }
}

export function journalFile(stateDir: string): string {
  return join(stateDir, "evolution", "journal.json")
}

export const Journal = {
  read(stateDir: string): Journal | null {
    const file = journalFile(stateDir)
    if (!existsSync(file)) return null
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Journal
    } catch {
      return null
    }
  },
  write(stateDir: string, journal: Journal) {
    const file = journalFile(stateDir)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    writeFileSync(`${file}.tmp`, JSON.stringify(journal, null, 2), { mode: 0o600 })
    renameSync(`${file}.tmp`, file)
  },
  clear(stateDir: string) {
    rmSync(journalFile(stateDir), { force: true })
  },
}

/**
 * The audit record a journal entry stands for, built from the journal alone when the audit lost it
 * (the process died before writing): the supervisor's rollback and the next start's recovery both need it.
 */
export function recordOf(
  journal: Journal,
  known: EvolutionRecord | null | undefined,
  status: EvolutionRecord["status"],
): EvolutionRecord {
  return (
    known ?? {
      id: journal.id,
      reason: journal.reason,
      by: "unknown",
      status,
      startedAt: journal.startedAt,
      endedAt: null,
      before: journal.before,
      after: journal.after ?? null,
      files: [],
      steps: [],
      verdict: null,
      restart: null,
    }
  )
}
