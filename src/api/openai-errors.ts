/**
 * Errors of the OpenAI-compatible endpoint in OpenAI's own shape,
 * `{"error":{"message","type","param","code"}}`, for every status `/v1` answers: the clients read
 * `error.message`, `error.code` and `error.param` from it (the Control API's `{"error":"Invalid",…}`
 * showed up in them as `400 "Invalid"`). The Control API's refusals (401, 403, 413, 429 from the guard;
 * validation, parse and domain errors from errors.ts) are converted here, at the edge of `/v1`.
 */

/** OpenAI's `error.type` for a status. */
function typeOf(status: number): string {
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 404) return "not_found_error"
  if (status === 429) return "rate_limit_error"
  if (status >= 500) return "server_error"
  return "invalid_request_error"
}

/** OpenAI's `error.code` for a Control API error code, where OpenAI has one; else the code in snake case. */
const CODES: Record<string, string> = {
  Unauthorized: "invalid_api_key",
  Forbidden: "insufficient_permissions",
  RateLimited: "rate_limit_exceeded",
  TooLarge: "request_too_large",
  Invalid: "invalid_request",
  NotFound: "not_found",
  Busy: "session_busy",
  Internal: "internal_error",
}

const snake = (code: string) =>
  code
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/\W+/g, "_")
    .toLowerCase()

export function isOpenAIPath(path: string): boolean {
  return path === "/v1" || path.startsWith("/v1/")
}

/** An OpenAI-shaped error response. `param` names the offending request field (dotted, e.g. `messages.0.role`). */
export function openaiError(
  status: number,
  message: string,
  code: string | null = null,
  param: string | null = null,
  type: string = typeOf(status),
): Response {
  return Response.json({ error: { message, type, param, code } }, { status })
}

/** The Control API's `problem()` with the same arguments, answering in OpenAI's shape (for the `/v1` guard). */
export function openaiProblem(
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): Response {
  const param = Array.isArray(extra.fields) ? paramOf(extra.fields) : null
  return openaiError(status, message, CODES[error] ?? snake(error), param)
}

/** `body.messages[0].role` → `messages.0.role`: OpenAI names body fields without the location. */
function paramOf(fields: unknown[]): string | null {
  const first = fields[0] as { path?: unknown } | undefined
  if (typeof first?.path !== "string") return null
  return (
    first.path
      .replace(/^body\.?/, "")
      .replace(/\[(\d+)\]/g, ".$1")
      .replace(/^\./, "") || null
  )
}

/**
 * The same error in OpenAI's shape when `response` is a Control API error (a JSON body whose `error`
 * is a string); anything else (a success, a stream, an error already in OpenAI's shape) is returned as it is.
 */
export async function toOpenAIShape(response: Response): Promise<Response> {
  if (response.status < 400 || !response.headers.get("content-type")?.includes("application/json")) return response
  let body: { error?: unknown; message?: unknown; fields?: unknown; errorId?: unknown }
  try {
    body = (await response.clone().json()) as typeof body
  } catch {
    return response
  }
  if (typeof body?.error !== "string") return response
  const message = typeof body.message === "string" ? body.message : body.error
  const shaped = openaiProblem(
    response.status,
    body.error,
    typeof body.errorId === "string" ? `${message} (error id ${body.errorId})` : message,
    { fields: body.fields },
  )
  for (const [name, value] of response.headers) if (name !== "content-length") shaped.headers.set(name, value)
  shaped.headers.set("content-type", "application/json")
  return shaped
}
