/**
 * Token usage of stored model steps (each assistant message carries the usage of the call that made it,
 * and the profile that actually served it after failover), summed per provider profile for one
 * session, one turn or a time range. Cost is derived from these by the caller (prices are config).
 */
import type { Database } from "bun:sqlite"
import type { Usage } from "../core/message.ts"

export type UsageByProvider = Record<string, Usage>

export interface UsageFilter {
  sessionId?: string
  turnId?: string
  /** Only steps stored at or after this time (ms since the epoch). */
  since?: number
}

type Row = { provider: string; input: number | null; output: number | null; cached: number | null }

export function stepUsage(db: Database, filter: UsageFilter = {}): UsageByProvider {
  const where = ["usage IS NOT NULL", "provider IS NOT NULL"]
  const params: Record<string, string | number> = {}
  if (filter.sessionId !== undefined) {
    where.push("session_id = $sessionId")
    params.sessionId = filter.sessionId
  }
  if (filter.turnId !== undefined) {
    where.push("turn_id = $turnId")
    params.turnId = filter.turnId
  }
  if (filter.since !== undefined) {
    where.push("created_at >= $since")
    params.since = filter.since
  }
  const rows = db
    .query<Row, Record<string, string | number>>(
      `SELECT provider, SUM(json_extract(usage, '$.input')) AS input, SUM(json_extract(usage, '$.output')) AS output,
              SUM(json_extract(usage, '$.cached')) AS cached
       FROM messages WHERE ${where.join(" AND ")} GROUP BY provider ORDER BY provider`,
    )
    .all(params)
  return Object.fromEntries(
    rows.map((row) => [row.provider, { input: row.input ?? 0, output: row.output ?? 0, cached: row.cached ?? 0 }]),
  )
}

/** Usage of the steps stored in [since, before), per provider and per slice of `sliceMs` (to bucket into days later). */
export function stepUsageSlices(
  db: Database,
  since: number,
  sliceMs: number,
  before = Number.MAX_SAFE_INTEGER,
): { provider: string; slice: number; usage: Usage }[] {
  return db
    .query<Row & { slice: number }, { since: number; slice: number; before: number }>(
      `SELECT provider, (created_at / $slice) * $slice AS slice, SUM(json_extract(usage, '$.input')) AS input,
              SUM(json_extract(usage, '$.output')) AS output, SUM(json_extract(usage, '$.cached')) AS cached
       FROM messages WHERE usage IS NOT NULL AND provider IS NOT NULL AND created_at >= $since AND created_at < $before
       GROUP BY provider, slice`,
    )
    .all({ since, slice: sliceMs, before })
    .map((row) => ({
      provider: row.provider,
      slice: row.slice,
      usage: { input: row.input ?? 0, output: row.output ?? 0, cached: row.cached ?? 0 },
    }))
}
