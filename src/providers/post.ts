/**
 * A streamed model request over `fetch`, for the OpenAI-shaped APIs (Chat Completions, Responses): the
 * body is already encoded (encode.ts) and the event stream is read by sse.ts, so the OpenAI SDK's part of
 * a call was only its request machinery (header building and merging, its own timeout and abort
 * wiring, logging hooks, the URL builder): about a tenth of the gateway's CPU per turn in a profile of
 * bench/turn-overhead.ts. Its errors stay as they were where they matter: a non-2xx answer throws an
 * `HttpError` with the status, the headers (`Retry-After`) and the message the SDK's `APIError` would
 * have had, so failure.ts classifies both alike. The deadlines are guard.ts's, as before (the SDK's own
 * timeout was the same `timeoutMs`).
 */
import { VERSION } from "../util/version.ts"
import type { Credential } from "./credential.ts"

/** The answer of a provider that refused a request (the fields failure.ts reads, as the SDK's APIError has them). */
export class HttpError extends Error {
  override readonly name = "HttpError"
  constructor(
    readonly status: number,
    readonly headers: Headers,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The SDK's message for an error answer (openai/client.js `makeStatusError`, core/error.js
 * `APIError.makeMessage`): the body's `error.message`, else its `error` as JSON (a JSON body without an
 * `error` is that error itself), else the body's text when it is not JSON, after the status.
 */
export function errorMessage(status: number, text: string): string {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const normalized =
    json && typeof json === "object" && (json as { error?: unknown }).error == null ? { error: json } : json
  const error = (normalized as { error?: unknown } | null | undefined)?.error as { message?: unknown } | undefined
  const message = json ? undefined : text
  const msg = error?.message
    ? typeof error.message === "string"
      ? error.message
      : JSON.stringify(error.message)
    : error
      ? JSON.stringify(error)
      : message
  return msg ? `${status} ${msg}` : `${status} status code (no body)`
}

/** `path` under `baseUrl`, joined as the SDK joins them (one slash between). */
export function endpoint(baseUrl: string, path: string): string {
  return baseUrl.endsWith("/") ? `${baseUrl}${path}` : `${baseUrl}/${path}`
}

const USER_AGENT = `drost/${VERSION}`

/**
 * POST `body` to `url` and answer the response once its headers arrived and it is 2xx; otherwise throw
 * `HttpError` with the body's message. No `credential`: no Authorization header at all (a compatible
 * server without auth), as the SDK was told.
 */
export async function postStream(
  url: string,
  credential: Credential | null,
  body: Uint8Array | string,
  signal: AbortSignal,
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    "user-agent": USER_AGENT,
  }
  if (credential) headers.authorization = `Bearer ${credential.value}`
  const response = await fetch(url, { method: "POST", headers, body, signal })
  if (response.ok) return response
  const text = await response.text().catch((error) => String((error as Error)?.message ?? error))
  throw new HttpError(response.status, response.headers, errorMessage(response.status, text))
}
