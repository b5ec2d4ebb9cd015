/**
 * Secret redaction for everything written to logs and JSONL streams. Keys that look like secrets have
 * their values replaced whole; string values anywhere are scrubbed of bearer tokens and API-key shapes.
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

export function redactText(value: string): string {
  if (!ANY.test(value)) return value
  let out = value
  for (const pattern of PATTERNS)
    out = out.replace(pattern, (match) =>
      match.match(/^(Bearer|Basic)\s/i) ? `${match.split(/\s/)[0]} ${REDACTED}` : REDACTED,
    )
  return out
}

export function redact<T>(value: T, depth = 0): T {
  if (depth > 12) return value
  if (typeof value === "string") return redactText(value) as T
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1)) as T
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) {
      out[key] =
        SECRET_KEY.test(key) && inner !== null && inner !== undefined && typeof inner !== "object"
          ? REDACTED
          : redact(inner, depth + 1)
    }
    return out as T
  }
  return value
}
