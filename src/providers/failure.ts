/**
 * Turns whatever an SDK call threw into a classified `error` stream event, so the router can decide
 * about failover and cooldown from data. Adapters never retry; they only classify.
 */
import type { FailureKind, StreamEvent } from "../core/provider.ts"
import { TimeoutError } from "./guard.ts"
import { StreamPayloadError, UnexpectedBodyError } from "./sse.ts"
import { redactText } from "../util/redact.ts"

type ErrorEvent = Extract<StreamEvent, { type: "error" }>

interface HttpLike {
  status?: number
  headers?: Headers | Record<string, string | null | undefined>
  message?: string
  name?: string
  error?: unknown
}

function header(headers: HttpLike["headers"], name: string): string | null {
  if (!headers) return null
  if (headers instanceof Headers) return headers.get(name)
  const value = headers[name] ?? headers[name.toLowerCase()]
  return typeof value === "string" ? value : null
}

/** `retry-after-ms`, then `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: HttpLike["headers"], now = Date.now()): number | undefined {
  const ms = Number(header(headers, "retry-after-ms"))
  if (header(headers, "retry-after-ms") !== null && Number.isFinite(ms) && ms >= 0) return ms
  const raw = header(headers, "retry-after")
  if (raw === null) return undefined
  const seconds = Number(raw)
  if (raw.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export function kindForStatus(status: number): FailureKind {
  if (status === 401 || status === 403) return "auth"
  if (status === 429) return "rate_limit"
  if (status === 408) return "timeout"
  if (status >= 500) return "server"
  return "invalid"
}

/** Keep provider error text short and free of echoed credentials. */
function clean(message: string): string {
  // A provider may echo the key it was sent ("Incorrect API key provided: sk-…"): the reason ends up in
  // the store, the API's answers and the event stream, so key shapes and bearer tokens are cut here.
  const line = redactText(message.replace(/\s+/g, " ").trim())
  return line.length > 400 ? `${line.slice(0, 400)}…` : line
}

/**
 * `opened`: the response headers had arrived, so a non-HTTP failure broke the stream rather than the
 * connection.
 */
export function classify(error: unknown, signal: AbortSignal, opened: boolean): ErrorEvent {
  if (error instanceof TimeoutError)
    return { type: "error", kind: error.local ? "overload" : "timeout", message: error.message }
  if (signal.aborted) return { type: "error", kind: "aborted", message: String(signal.reason ?? "aborted") }
  const http = (typeof error === "object" && error !== null ? error : {}) as HttpLike
  const text = clean(http.message ?? String(error))
  if (typeof http.status === "number") {
    const kind = kindForStatus(http.status)
    const event: ErrorEvent = { type: "error", kind, message: `HTTP ${http.status}: ${text}`, status: http.status }
    if (kind === "rate_limit" || kind === "server") {
      const wait = retryAfterMs(http.headers)
      if (wait !== undefined) event.retryAfterMs = wait
    }
    return event
  }
  if (error instanceof UnexpectedBodyError) return { type: "error", kind: "stream", message: text }
  const name = http.name ?? ""
  if (name.includes("Timeout")) return { type: "error", kind: "timeout", message: text }
  // An error event inside an otherwise healthy stream (`data: {"error":…}` / `event: error`).
  if (error instanceof StreamPayloadError || name === "APIError" || name === "InternalServerError") {
    if (/overload|capacity|unavailable/i.test(text))
      return { type: "error", kind: "server", message: `stream error: ${text}` }
    if (/rate.?limit/i.test(text)) return { type: "error", kind: "rate_limit", message: `stream error: ${text}` }
    return { type: "error", kind: "stream", message: `stream error: ${text}` }
  }
  if (!opened || name === "APIConnectionError")
    return { type: "error", kind: "network", message: `cannot reach the provider: ${text}` }
  return { type: "error", kind: "stream", message: `the stream broke: ${text}` }
}
