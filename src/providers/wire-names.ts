/**
 * Tool names on the wire. OpenAI and Anthropic accept only `^[a-zA-Z0-9_-]{1,64}$` as a function
 * name and answer anything else with a 400, while Drost's tools keep readable dotted names
 * (`file.read`, `<mcp-server>.<tool>`). One instance per request maps every name it is given to a
 * safe, collision-free wire name and maps the model's calls back.
 */

const SAFE = /^[a-zA-Z0-9_-]{1,64}$/
const MAX = 64

function hash(text: string): string {
  return Bun.hash(text).toString(36).slice(0, 8)
}

/**
 * Sanitised names, kept: every request maps every offered tool's name (a regular expression each, about
 * 1 % of a turn's CPU). Tool names are few; the bound only guards against a stream of distinct ones.
 */
const sanitized = new Map<string, string>()

function sanitize(name: string): string {
  let safe = sanitized.get(name)
  if (safe !== undefined) return safe
  if (SAFE.test(name)) safe = name
  else {
    const base = name.replace(/[^a-zA-Z0-9_-]/g, "_") || "tool"
    safe = base.length <= MAX ? base : `${base.slice(0, MAX - 9)}_${hash(name)}`
  }
  if (sanitized.size >= 4096) sanitized.clear()
  sanitized.set(name, safe)
  return safe
}

export class WireNames {
  private readonly out = new Map<string, string>()
  private readonly back = new Map<string, string>()

  /** Names are claimed in order: give the request's tools first so their wire names are stable. */
  constructor(names: Iterable<string> = []) {
    for (const name of names) this.wire(name)
  }

  /** The wire-safe name for a Drost tool name (stable within this instance). */
  wire(name: string): string {
    const known = this.out.get(name)
    if (known) return known
    let candidate = sanitize(name)
    for (let n = 2; this.back.has(candidate); n++) {
      const suffix = `_${n}`
      candidate = `${sanitize(name).slice(0, MAX - suffix.length)}${suffix}`
    }
    this.out.set(name, candidate)
    this.back.set(candidate, name)
    return candidate
  }

  /** The Drost name behind a wire name the model used; unknown names pass through unchanged. */
  name(wire: string): string {
    return this.back.get(wire) ?? wire
  }
}

/** Tool-call ids cross providers too: Anthropic requires `^[a-zA-Z0-9_-]+$`. */
export function safeId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "call"
}
