/**
 * The payloads of a streamed model response (server-sent events), parsed here rather than by the
 * SDK's stream helper: the SDK still builds, authenticates and sends the request and turns an HTTP
 * failure into its typed error (`.asResponse()`), but its generic event pipeline (line decoder, event
 * objects, several generator layers, a normalising wrapper) cost about a tenth of a turn's CPU for
 * what is `data: {json}` framing. Same rules as the SDK's: `[DONE]` ends the stream, an `error` event
 * or a payload with an `error` field is the provider reporting a failure, anything unparsable breaks it.
 */

/** A failure the provider reported inside an otherwise healthy stream. */
export class StreamPayloadError extends Error {
  override name = "StreamPayloadError"
}

/**
 * The provider answered, but not with an event stream (a proxy's or portal's HTML page, a JSON body
 * from a server that ignored `stream: true`): the message says what came back instead of the
 * misleading "stream ended before the model finished".
 */
export class UnexpectedBodyError extends Error {
  override name = "UnexpectedBodyError"
}

/** Lines an event stream may start with (after optional blank lines). */
const SSE_START = /^(data|event|id|retry):|^:/

function unexpected(response: Response, head: string): UnexpectedBodyError {
  const type = response.headers.get("content-type") || "no content type"
  const shown = head.replace(/\s+/g, " ").trim().slice(0, 200)
  return new UnexpectedBodyError(
    `the provider answered HTTP ${response.status} with ${type} instead of an event stream${shown ? `: ${shown}${head.length > 200 ? "…" : ""}` : " (empty body)"}; check the profile's baseUrl (a proxy or login page answers like this)`,
  )
}

function failure(payload: unknown): StreamPayloadError {
  const error = (payload as { error?: unknown } | null)?.error ?? payload
  const message =
    typeof error === "string" ? error : ((error as { message?: unknown } | null)?.message ?? JSON.stringify(error))
  return new StreamPayloadError(String(message))
}

/** One event block (the lines between blank lines): its payload, or `done` for `[DONE]`. */
function parse(block: string): { done: true } | { done: false; data: unknown } | null {
  let event = ""
  let data: string | null = null
  for (const line of block.split("\n")) {
    if (line.startsWith("data:")) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
      data = data === null ? value : `${data}\n${value}`
    } else if (line.startsWith("event:")) event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6)
    // `id:`, `retry:` and `:` comments carry nothing a model stream needs.
  }
  if (data === null) return null
  if (data === "[DONE]") return { done: true }
  let payload: unknown
  try {
    payload = JSON.parse(data)
  } catch {
    throw new SyntaxError("Error reading response: malformed server-sent event JSON.")
  }
  if (
    event === "error" ||
    (payload !== null && typeof payload === "object" && "error" in payload && (payload as { error: unknown }).error)
  )
    throw failure(payload)
  return { done: false, data: payload }
}

/** The JSON payloads of `response`'s event stream, in order. */
export async function* sseJson<T>(response: Response): AsyncGenerator<T> {
  if (!response.body) return
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  let finished = false
  // Checked on the first bytes: some compatible servers stream SSE under another content type.
  let checked = (response.headers.get("content-type") ?? "").includes("event-stream")
  try {
    for (;;) {
      const { value, done } = await reader.read()
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      if (!checked) {
        const head = buffer.trimStart()
        if (head.length < 6 && !done) continue
        if (!SSE_START.test(head)) throw unexpected(response, head)
        checked = true
      }
      // CRLF framing (a CR at a chunk's end pairs with the next chunk's LF on the next pass).
      if (buffer.includes("\r\n")) buffer = buffer.replace(/\r\n/g, "\n")
      let end = buffer.indexOf("\n\n")
      while (end !== -1) {
        const event = parse(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        if (event?.done) {
          finished = true
          return
        }
        if (event) yield event.data as T
        end = buffer.indexOf("\n\n")
      }
      if (done) {
        // A last event without its blank line still counts.
        const event = buffer.trim() ? parse(buffer) : null
        finished = true
        if (event && !event.done) yield event.data as T
        return
      }
    }
  } finally {
    // Stopped early (a consumer broke off, a deadline fired): release the connection.
    if (!finished) reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}
