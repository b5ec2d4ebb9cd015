/**
 * Helpers of the reliability suite: a seeded random source (a failure can be replayed with the seed the
 * test prints), the store checks run after every crash, and a search for secrets in every file a
 * gateway wrote.
 */
import { Database } from "bun:sqlite"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

/** mulberry32: small, fast, good enough to pick faults and moments. */
export function rng(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    between: (min: number, max: number) => min + next() * (max - min),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  }
}

export const seedFrom = (name: string, fallback: number) => Number(process.env[name] ?? fallback)

/** `PRAGMA integrity_check` on a store a gateway may be using (read-only connection, WAL). */
export function integrity(dbFile: string): string {
  const db = new Database(dbFile, { readonly: true })
  try {
    return (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check
  } finally {
    db.close()
  }
}

export interface StoredTurn {
  id: string
  status: string
  error: string | null
  /** Messages the turn wrote after the user's (assistant steps and tool results). */
  answers: number
}

/** The stored state of the given turns and whether their user messages exist. */
export function storedTurns(
  dbFile: string,
  turnIds: string[],
  messageIds: string[],
): { turns: Map<string, StoredTurn>; messages: Set<string> } {
  const db = new Database(dbFile, { readonly: true })
  try {
    const turns = new Map<string, StoredTurn>()
    const turn = db.query<{ id: string; status: string; error: string | null }, [string]>(
      "SELECT id, status, error FROM turns WHERE id = ?",
    )
    const answers = db.query<{ n: number }, [string]>(
      "SELECT count(*) AS n FROM messages WHERE turn_id = ? AND role != 'user'",
    )
    for (const id of turnIds) {
      const row = turn.get(id)
      if (row) turns.set(id, { ...row, answers: answers.get(id)!.n })
    }
    const message = db.query<{ id: string }, [string]>("SELECT id FROM messages WHERE id = ?")
    const messages = new Set(messageIds.filter((id) => message.get(id)))
    return { turns, messages }
  } finally {
    db.close()
  }
}

/** Every file under `dir` (recursively) whose bytes contain one of `secrets`: `path: secret…`. */
export function findSecrets(dir: string, secrets: string[]): string[] {
  const found: string[] = []
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== ".git") walk(path)
        continue
      }
      if (!entry.isFile() || statSync(path).size > 256 * 1024 * 1024) continue
      // Binary-safe: SQLite pages, the WAL and JSONL are all searched as raw bytes (latin1 keeps them 1:1).
      const bytes = readFileSync(path).toString("latin1")
      for (const secret of secrets) if (bytes.includes(secret)) found.push(`${path}: ${secret.slice(0, 6)}…`)
    }
  }
  walk(dir)
  return found
}
