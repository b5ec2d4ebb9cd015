/**
 * Who may call what. Runs in `onRequest`, before Elysia reads or validates the body, so a request
 * without a valid token always gets 401 (never 422 with schema details), and a read token trying to
 * change something gets 403. Tokens are compared in constant time (both sides hashed first, so even the
 * length does not leak). Mutations are rate limited per token with a token bucket.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import type { Tokens } from "../gateway/token.ts"

export type Role = "admin" | "read"

/** Paths anyone may fetch: the probes and the API's own documentation (no data, no secrets). */
export function isPublic(path: string): boolean {
  return (
    path === "/healthz" ||
    path === "/livez" ||
    path === "/readyz" ||
    path === "/control/v1/openapi.json" ||
    path === "/control/v1/docs" ||
    path.startsWith("/control/v1/docs/")
  )
}

const digest = (value: string) => createHash("sha256").update(value).digest()

function same(given: Buffer, expected: string | null): boolean {
  if (!expected) return false
  return timingSafeEqual(given, digest(expected))
}

export function bearer(request: Request): string | null {
  const header = request.headers.get("authorization") ?? ""
  const match = header.match(/^Bearer\s+(.+)$/i)
  return match ? match[1]!.trim() : null
}

export function roleOf(request: Request, tokens: Tokens): Role | null {
  const token = bearer(request)
  if (!token) return null
  const given = digest(token)
  // Evaluate both comparisons every time so timing does not tell which token matched.
  const admin = same(given, tokens.admin)
  const read = same(given, tokens.read)
  return admin ? "admin" : read ? "read" : null
}

export const isMutation = (method: string) => !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase())

/** A token bucket per key: `perMinute` requests, refilled continuously. */
export function createRateLimit(perMinute: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>()
  const rate = perMinute / 60_000
  return {
    /** Milliseconds until the next request is allowed, or 0 if this one may go (and is counted). */
    take(key: string): number {
      const time = now()
      const bucket = buckets.get(key) ?? { tokens: perMinute, at: time }
      bucket.tokens = Math.min(perMinute, bucket.tokens + (time - bucket.at) * rate)
      bucket.at = time
      buckets.set(key, bucket)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.ceil((1 - bucket.tokens) / rate)
    },
  }
}
