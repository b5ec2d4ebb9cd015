/**
 * Retention: which sessions to archive or delete, by age (idle days), count (keep the newest N) or size
 * (keep the newest sessions that fit in N bytes of stored messages). A dry run reports exactly what a
 * real run would do. Archiving writes the session's export JSON under `.drost/archive/` (owner-only)
 * before deleting it. Sessions with a running or waiting turn are never touched: this gateway's (its
 * queues, asked of every session) and, through the store, any gateway's (a queued or running turn stored,
 * asked of the sessions picked), so with several gateways on one store none deletes a session another runs.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { RetentionConfig } from "../core/continuity-config.ts"
import type { Portable, SessionSize } from "../store/portable.ts"

export interface RetentionRule {
  maxAgeDays?: number
  maxSessions?: number
  maxBytes?: number
  action: RetentionConfig["action"]
}

export interface RetentionItem extends SessionSize {
  reason: string
}

export interface RetentionReport {
  action: RetentionRule["action"]
  dryRun: boolean
  sessions: RetentionItem[]
  bytes: number
  /** Where archives went (archive action only). */
  archiveDir: string | null
}

const DAY = 86_400_000

export function planRetention(
  all: SessionSize[],
  rule: RetentionRule,
  busy: (id: string) => boolean,
  now = Date.now(),
): RetentionItem[] {
  const out: RetentionItem[] = []
  let kept = 0
  let keptBytes = 0
  // Newest first: the count and size limits keep the most recent sessions.
  for (const session of [...all].sort((a, b) => b.updatedAt - a.updatedAt)) {
    const reasons: string[] = []
    const idleDays = (now - session.updatedAt) / DAY
    if (rule.maxAgeDays !== undefined && idleDays > rule.maxAgeDays)
      reasons.push(`idle ${Math.floor(idleDays)} days (maxAgeDays ${rule.maxAgeDays})`)
    if (rule.maxSessions !== undefined && kept >= rule.maxSessions)
      reasons.push(`older than the newest ${rule.maxSessions} (maxSessions)`)
    if (rule.maxBytes !== undefined && keptBytes + session.bytes > rule.maxBytes)
      reasons.push(`beyond ${rule.maxBytes} bytes of newer sessions (maxBytes)`)
    if (reasons.length === 0 || busy(session.id)) {
      kept++
      keptBytes += session.bytes
      continue
    }
    out.push({ ...session, reason: reasons.join("; ") })
  }
  return out
}

export interface RetentionDeps {
  portable: Portable
  remove(id: string): Promise<void>
  /** A turn of the session runs or waits on this gateway. */
  busy(id: string): boolean
  /** A turn of the session is stored queued or running (on any gateway of the store). */
  open?(id: string): Promise<boolean>
  archiveDir: string
}

export async function applyRetention(
  deps: RetentionDeps,
  rule: RetentionRule,
  dryRun: boolean,
): Promise<RetentionReport> {
  if (rule.maxAgeDays === undefined && rule.maxSessions === undefined && rule.maxBytes === undefined)
    throw new Error("no retention limit given: set retention.maxAgeDays, maxSessions or maxBytes (or pass one)")
  const all = await deps.portable.overview()
  // The store is asked only about the sessions a plan picks (not every session); one found open is kept,
  // which changes what the count and size limits keep, so the plan is made again until none is.
  const open = new Map<string, boolean>()
  const busy = (id: string) => deps.busy(id) || open.get(id) === true
  let sessions = planRetention(all, rule, busy)
  for (let again = deps.open !== undefined; again; ) {
    again = false
    for (const session of sessions) {
      if (open.has(session.id)) continue
      const found = await deps.open!(session.id)
      open.set(session.id, found)
      again ||= found
    }
    if (again) sessions = planRetention(all, rule, busy)
  }
  if (!dryRun) {
    if (rule.action === "archive") mkdirSync(deps.archiveDir, { recursive: true, mode: 0o700 })
    for (const session of sessions) {
      if (rule.action === "archive") {
        const file = join(deps.archiveDir, `${session.id}.json`)
        writeFileSync(file, JSON.stringify(await deps.portable.export(session.id)), { mode: 0o600 })
        chmodSync(file, 0o600)
      }
      await deps.remove(session.id)
    }
  }
  return {
    action: rule.action,
    dryRun,
    sessions,
    bytes: sessions.reduce((sum, session) => sum + session.bytes, 0),
    archiveDir: rule.action === "archive" ? deps.archiveDir : null,
  }
}
