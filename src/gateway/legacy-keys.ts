/**
 * Top-level keys of Drost 0.1's config (the Node version) that have no one-to-one successor here. A
 * config copied from its README names them; instead of the schema's bare "unknown key", each gets a line
 * saying what replaced it, so the fix is one edit. (docs/configuration.md, "Coming from Drost 0.1".)
 */
import type { Issue } from "../core/schema.ts"

export const LEGACY_KEYS: Record<string, string> = {
  sessionStore:
    'a Drost 0.1 key: sessions now live in SQLite (<stateDir>/drost.db) with nothing to switch on; remove "sessionStore" (to move the files set "stateDir"; to bound history use "retention")',
  health:
    'a Drost 0.1 key: /healthz, /livez and /readyz are served by the Control API; remove "health" and set "controlApi" ({ "enabled": true, "port": 0 } for a free port)',
}

/** The legacy keys in `raw` as issues, and `raw` without them (so the rest is still checked). */
export function legacyIssues(raw: Record<string, unknown>): { issues: Issue[]; rest: Record<string, unknown> } {
  const issues: Issue[] = []
  const rest = { ...raw }
  for (const [key, message] of Object.entries(LEGACY_KEYS))
    if (key in rest) {
      issues.push({ path: key, message })
      delete rest[key]
    }
  return { issues, rest }
}
