/**
 * Secret redaction for everything written to logs and JSONL streams. Keys that look like secrets have
 * their values replaced whole; string values anywhere are scrubbed of bearer tokens and API-key shapes,
 * and of the exact values of every configured credential (`Secrets`): a key with no recognisable shape
 * that a provider echoes in an error would pass the shapes.
 */

const SECRET_KEY = /(token|secret|password|passwd|api[_-]?key|apikey|authorization|cookie|credential|private[_-]?key)/i
const PATTERNS: RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\bxai-[A-Za-z0-9_-]{8,}/g,
  /\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/g, // Telegram bot tokens
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
]
export const REDACTED = "[REDACTED]"

/** One scan that every secret shape matches (case-insensitively, so it is a superset): most strings
 * hold none, and skipping the five replace passes for them keeps redaction off a turn's profile. */
const ANY = new RegExp(PATTERNS.map((pattern) => `(?:${pattern.source})`).join("|"), "i")

/** Shorter values are not registered: replacing every "debug" or "true" would garble text. */
export const MIN_SECRET_LENGTH = 8

/**
 * The exact secret values in use, by scope (`config`, `provider:<id>`, …), so a scope's values can be
 * replaced when its source changes (a config reload, a key changed with `drost auth`). The gateway
 * fills it at start; adapters add the credential they resolve for each call. Process-wide on purpose:
 * it must reach every writer (logs, the JSONL sink, stored errors) without being threaded through.
 */
export const Secrets = {
  set(scope: string, values: Iterable<string | null | undefined>) {
    const kept = new Set<string>()
    for (const value of values)
      if (typeof value === "string" && value.trim().length >= MIN_SECRET_LENGTH) kept.add(value.trim())
    const before = scopes.get(scope)
    if (before && before.size === kept.size && [...kept].every((value) => before.has(value))) return
    if (kept.size) scopes.set(scope, kept)
    else scopes.delete(scope)
    // Longest first, so a secret that contains another is replaced whole.
    exact = [...new Set([...scopes.values()].flatMap((set) => [...set]))].sort((a, b) => b.length - a.length)
  },
  clear(scope?: string) {
    if (scope === undefined) scopes.clear()
    else scopes.delete(scope)
    exact = [...new Set([...scopes.values()].flatMap((set) => [...set]))].sort((a, b) => b.length - a.length)
  },
  size: () => exact.length,
}
const scopes = new Map<string, Set<string>>()
let exact: string[] = []

function redactExact(value: string): string {
  let out = value
  for (const secret of exact) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  return out
}

export function redactText(value: string): string {
  const known = exact.length ? redactExact(value) : value
  if (!ANY.test(known)) return known
  let out = known
  for (const pattern of PATTERNS)
    out = out.replace(pattern, (match) =>
      match.match(/^(Bearer|Basic)\s/i) ? `${match.split(/\s/)[0]} ${REDACTED}` : REDACTED,
    )
  return out
}

/**
 * `value` with secrets replaced. Copy on write: what holds no secret comes back as the same object, so
 * redacting an event (every one the JSONL sink writes) allocates nothing unless something is replaced.
 */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 12) return value
  if (typeof value === "string") return redactText(value) as T
  if (Array.isArray(value)) {
    let out: unknown[] | null = null
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      const next = redact(item, depth + 1)
      if (out) out.push(next)
      else if (next !== item) {
        out = value.slice(0, i)
        out.push(next)
      }
    }
    return (out ?? value) as T
  }
  if (value && typeof value === "object") {
    const source = value as Record<string, unknown>
    let out: Record<string, unknown> | null = null
    for (const key in source) {
      if (!Object.hasOwn(source, key)) continue
      const inner = source[key]
      const next =
        SECRET_KEY.test(key) && inner !== null && inner !== undefined && typeof inner !== "object"
          ? REDACTED
          : redact(inner, depth + 1)
      if (next === inner) continue
      out ??= { ...source }
      out[key] = next
    }
    return (out ?? value) as T
  }
  return value
}
