/**
 * One-time sign-in links for the dashboard: the admin asks for one
 * (`POST /control/v1/dashboard/links`), opens it in a browser (or sends it to one on this machine), and
 * the page trades the code once for the token (`POST /ui/redeem`, which needs no token: the code is
 * the secret). A code is 32 random bytes, works once, and expires after five minutes; it lives only
 * in this gateway's memory. The code travels in the URL fragment, which the browser never sends to
 * a server or puts in a Referer, and the page drops it from the address bar and history at once.
 */
import { Elysia, t } from "elysia"
import { Invalid } from "../../core/error.ts"
import type { Tokens } from "../../gateway/token.ts"
import { invalid } from "../schemas.ts"

export const LINK_TTL_MS = 5 * 60_000
const MAX_PENDING = 100

const Role = t.Union([t.Literal("admin"), t.Literal("read")])

interface Pending {
  role: "admin" | "read"
  expiresAt: number
}

function code(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")
}

export function linkRoutes(tokens: Tokens, now: () => number = Date.now) {
  const pending = new Map<string, Pending>()
  const sweep = () => {
    for (const [key, link] of pending) if (link.expiresAt <= now()) pending.delete(key)
  }
  return new Elysia()
    .post(
      "/control/v1/dashboard/links",
      ({ body, request, set }) => {
        const role = body?.role ?? "admin"
        if (role === "read" && !tokens.read)
          throw new Invalid("no read token is configured (controlApi.readToken); a read-only link needs one")
        sweep()
        // The oldest goes first: an admin who asks again and again cannot grow the map.
        while (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!)
        const key = code()
        const expiresAt = now() + LINK_TTL_MS
        pending.set(key, { role, expiresAt })
        set.status = 201
        return { url: `${new URL(request.url).origin}/#/login/${key}`, role, expiresAt }
      },
      {
        body: t.Optional(
          t.Object(
            { role: t.Optional(Role) },
            { additionalProperties: false, examples: [{ role: "read" }], description: "Default: admin" },
          ),
        ),
        response: {
          201: t.Object(
            {
              url: t.String({ description: "Open it in a browser; the code in its fragment works once" }),
              role: Role,
              expiresAt: t.Number({ description: "ms since the epoch; five minutes from now" }),
            },
            { description: "A one-time sign-in link for the web dashboard" },
          ),
          400: invalid,
        },
        detail: {
          operationId: "createDashboardLink",
          tags: ["runtime"],
          summary: "One-time dashboard sign-in link",
          description:
            "A link to the web dashboard (`/`) that signs the browser in with the admin token (or, with `role: read`, the read token) without typing it. The code works once and expires after five minutes. 400 for a read link when no read token is configured.",
        },
      },
    )
    .post(
      "/ui/redeem",
      ({ body, status, set }) => {
        // The answer holds a token: no cache keeps it.
        set.headers["cache-control"] = "no-store"
        sweep()
        const link = pending.get(body.code)
        if (!link)
          return status(404, {
            error: "NotFound",
            message: "this sign-in link was used already, has expired, or was never issued; ask for a new one",
          })
        pending.delete(body.code)
        return { role: link.role, token: link.role === "admin" ? tokens.admin : tokens.read! }
      },
      { body: t.Object({ code: t.String({ minLength: 1, maxLength: 100 }) }), detail: { hide: true } },
    )
}
