/**
 * The one place where failures become HTTP statuses. Every error body has the same shape
 * (`{ error, message, ... }`): validation names each field path, domain errors keep their data, and an
 * unexpected exception becomes 500 with an error id that is also in the gateway log, never a stack, a
 * raw message or a secret.
 */
import { Elysia, t } from "elysia"
import { DrostError } from "../core/error.ts"
import { dotted } from "../core/schema.ts"
import { Log } from "../util/log.ts"

/** Domain error codes (core/error.ts and friends) → HTTP status. */
const STATUS: Record<string, number> = {
  NotFound: 404,
  Invalid: 400,
  Busy: 409,
  Conflict: 409,
  NoSession: 400,
  Unauthorized: 401,
  Forbidden: 403,
  Unavailable: 503,
  /** The disk holding the database is full (src/store/fault.ts): nothing new can be stored. */
  InsufficientStorage: 507,
  TooLarge: 413,
}

export const ErrorBody = t.Object(
  {
    error: t.String({
      description:
        "Machine-readable code: Unauthorized, Forbidden, NotFound, Invalid, InvalidHost, Busy, TooLarge, MisdirectedRequest, RateLimited, Internal, …",
    }),
    message: t.String({ description: "What went wrong and, where possible, how to fix it" }),
    fields: t.Optional(
      t.Array(t.Object({ path: t.String(), message: t.String() }), {
        description: "Invalid: one entry per wrong field",
      }),
    ),
    errorId: t.Optional(
      t.String({ description: "Internal: quote it when reporting; the gateway log has the details" }),
    ),
  },
  {
    additionalProperties: true,
    examples: [{ error: "NotFound", message: 'unknown session "ses_x"', kind: "session", id: "ses_x" }],
  },
)

export function problem(status: number, error: string, message: string, extra: Record<string, unknown> = {}): Response {
  return Response.json({ error, message, ...extra }, { status })
}

/** The request's path; never throws, even for a request whose URL Bun could not build (a bad Host). */
export function pathOf(request: Request): string {
  try {
    return new URL(request.url).pathname
  } catch {
    return request.url.split("?")[0] ?? ""
  }
}

/** The query parameters, or none when the URL cannot be parsed. */
function queryOf(request: Request): [string, string][] {
  try {
    return [...new URL(request.url).searchParams.entries()]
  } catch {
    return []
  }
}

interface Located {
  path?: string
  message: string
  summary?: string
}

/** `body` + `/images/0/data` → `body.images[0].data`. */
function fieldPath(location: string, pointer: string | undefined): string {
  const inner = pointer ? dotted(pointer) : "(root)"
  return inner === "(root)" ? location : `${location}.${inner}`
}

function fields(location: string, issues: Located[]) {
  const seen = new Set<string>()
  const out: { path: string; message: string }[] = []
  for (const issue of issues) {
    const path = fieldPath(location, issue.path)
    if (seen.has(path)) continue
    seen.add(path)
    out.push({ path, message: issue.summary ?? issue.message })
  }
  return out
}

/**
 * Elysia checks coerced query numbers one property at a time and reports them as type "property" with
 * an empty path; recover the parameter's name from the URL so the client still learns which one.
 */
function propertyFields(request: Request, value: unknown, issues: Located[]) {
  const params = queryOf(request)
  const name = params.find(([, given]) => given === String(value))?.[0]
  return fields(
    name ? `query.${name}` : "query",
    issues.map((issue) => ({ ...issue, path: "" })),
  )
}

export function errors() {
  const log = Log.create("api")
  return new Elysia({ name: "drost-errors" }).onError({ as: "global" }, ({ code, error, request }) => {
    switch (code) {
      case "VALIDATION": {
        // A response that fails its own schema is our bug, not the client's.
        if (error.type === "response") {
          const errorId = `err_${crypto.randomUUID().slice(0, 8)}`
          log.error("response failed its schema", {
            errorId,
            path: pathOf(request),
            error: error.message.slice(0, 500),
          })
          return problem(500, "Internal", "internal error; see the gateway log", { errorId })
        }
        const list =
          error.type === "property"
            ? propertyFields(request, error.value, error.all as Located[])
            : fields(error.type, error.all as Located[])
        return problem(
          400,
          "Invalid",
          `the request does not match the schema: ${list.map((f) => `${f.path}: ${f.message}`).join("; ")}`,
          { fields: list },
        )
      }
      case "PARSE": {
        // The bounded parser (body.ts) refuses a body too large (413) or too deep (400) with its reason.
        const cause = (error as Error).cause
        if (cause instanceof DrostError) return Response.json(cause.toObject(), { status: STATUS[cause.code] ?? 400 })
        return problem(
          400,
          "Invalid",
          "the body is not valid JSON; send a JSON object with Content-Type: application/json",
        )
      }
      case "NOT_FOUND":
        return problem(404, "NotFound", `no route ${request.method} ${pathOf(request)}; see /control/v1/docs`)
      case "INVALID_COOKIE_SIGNATURE":
      case "INVALID_FILE_TYPE":
        return problem(400, "Invalid", error.message)
    }
    if (error instanceof DrostError) {
      const status = STATUS[error.code] ?? 500
      if (status < 500 || status === 503 || status === 507) return Response.json(error.toObject(), { status })
    }
    const errorId = `err_${crypto.randomUUID().slice(0, 8)}`
    log.error("request failed", {
      errorId,
      method: request.method,
      path: pathOf(request),
      error: error instanceof Error ? error.stack : String(error),
    })
    return problem(500, "Internal", "internal error; see the gateway log", { errorId })
  })
}
