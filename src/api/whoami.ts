/**
 * GET /control/v1/whoami: which token the request carries. Clients that show or hide what only the
 * admin token may do (the web dashboard, for one) ask here instead of trying a change and reading 403.
 */
import { Elysia, t } from "elysia"
import type { Tokens } from "../gateway/token.ts"
import { roleOf } from "./auth.ts"

export function whoamiRoutes(tokens: Tokens) {
  return new Elysia({ prefix: "/control/v1" }).get(
    "/whoami",
    // The guard in app.ts answered 401 already when there is no valid token.
    ({ request }) => ({ role: roleOf(request, tokens) ?? "read" }),
    {
      response: {
        200: t.Object(
          {
            role: t.Union([t.Literal("admin"), t.Literal("read")], {
              description: "admin: may read and change; read: may only read",
            }),
          },
          { description: "The role of the token this request carries", examples: [{ role: "admin" }] },
        ),
      },
      detail: {
        operationId: "whoami",
        tags: ["runtime"],
        summary: "The caller's role",
        description: "Whether the bearer token is the admin token or the read token.",
      },
    },
  )
}
