/**
 * Request bodies, bounded while they stream. Elysia's parsers call `request.json()`, which reads a
 * chunked body of any size and builds whatever nesting it holds (100,000 levels overflowed the stack
 * later, in `JSON.stringify`: a 500). The front door (server.ts) hands Elysia the body through
 * `bounded()`, a stream that counts bytes and stops at `controlApi.maxBodyBytes` (413), and for JSON
 * tracks the nesting depth of the raw bytes and stops past MAX_DEPTH (400), before `JSON.parse` ever
 * sees the text. Nothing is read until a route asks for the body, which is after the auth guard, so a
 * request refused at its headers never has its body read. A declared Content-Length over the limit is
 * refused even earlier (app.ts).
 */
import { DrostError } from "../core/error.ts"

/** Deeper than any request the API defines (tool arguments included) and far from the stack's limit. */
export const MAX_DEPTH = 128

export class TooLarge extends DrostError {
  constructor(limit: number) {
    super("TooLarge", `the body is larger than ${limit} bytes, the limit (controlApi.maxBodyBytes)`, { limit })
  }
}

export class TooDeep extends DrostError {
  constructor() {
    super("Invalid", `the JSON body nests deeper than ${MAX_DEPTH} levels; flatten it`, { maxDepth: MAX_DEPTH })
  }
}

/** Whether the headers announce a body (Content-Length > 0 or any Transfer-Encoding). */
export function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length")
  return request.headers.has("transfer-encoding") || (length !== null && length.trim() !== "0")
}

const isJson = (type: string) => /^application\/([a-z0-9.+-]*\+)?json\b/i.test(type.trim())

/**
 * JSON nesting over raw UTF-8 bytes, one chunk at a time: `"`, `\`, `{`, `[`, `}` and `]` are single
 * bytes that never occur inside a multi-byte character, so no decoding is needed.
 */
function depthScanner(limit: number) {
  let depth = 0
  let inString = false
  let escaped = false
  return (chunk: Uint8Array): boolean => {
    for (const byte of chunk) {
      if (inString) {
        if (escaped) escaped = false
        else if (byte === 92) escaped = true
        else if (byte === 34) inString = false
      } else if (byte === 34) inString = true
      else if (byte === 123 || byte === 91) {
        if (++depth > limit) return false
      } else if (byte === 125 || byte === 93) depth--
    }
    return true
  }
}

export interface Bounded {
  /** The same request with its body behind the guard (signal and headers kept). */
  request: Request
  /** True once the whole body went through (false: unread or cut off, so the connection must close). */
  consumed(): boolean
}

/** Why a request's body was cut off; `refusal()` reads it (see there). */
const refused = new WeakMap<Request, DrostError>()

/**
 * The reason a body was cut off, if it was. Elysia swallows parse errors of an optional body (the
 * handler would then run as if none was sent), so app.ts checks this before any handler runs.
 */
export const refusal = (request: Request) => refused.get(request)

/** `request` whose body errors with TooLarge past `limit` bytes and, for JSON, TooDeep past MAX_DEPTH. */
export function bounded(request: Request, url: string, limit: number): Bounded {
  let size = 0
  let done = false
  const deepEnough = isJson(request.headers.get("content-type") ?? "") ? depthScanner(MAX_DEPTH) : null
  const fail = (controller: TransformStreamDefaultController<Uint8Array>, error: DrostError) => {
    refused.set(wrapped, error)
    controller.error(error)
  }
  const guard = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength
      if (size > limit) fail(controller, new TooLarge(limit))
      else if (deepEnough && !deepEnough(chunk)) fail(controller, new TooDeep())
      else controller.enqueue(chunk)
    },
    flush() {
      done = true
    },
  })
  const body = request.body ? request.body.pipeThrough(guard) : null
  const init = { method: request.method, headers: request.headers, body, duplex: "half", signal: request.signal }
  const wrapped = new Request(url, init as RequestInit)
  return { request: wrapped, consumed: () => done }
}
