/**
 * Memory and continuity routes. `GET /prompt?session=…`: exactly what the next turn of a session would
 * send — the assembled system prompt with the size of each part, the tool definitions, and the history
 * view (after any summary) with its token budget; nothing is compacted or called. `GET /queues`: the
 * sessions with a running or waiting turn (orchestration).
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"

export function continuityRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get(
      "/prompt",
      ({ query }) => {
        const session = query.session ? gw.sessions.get(query.session) : null
        return gw.continuity.preview(session?.id ?? null, session?.provider ?? gw.config.providers.defaultSessionProvider)
      },
      {
        query: t.Object({ session: t.Optional(t.String({ description: "Session id (default: none, so no history)" })) }),
        detail: { operationId: "getPrompt", summary: "What the next turn would send", tags: ["sessions"] },
      },
    )
    .get("/queues", () => ({ queues: gw.sessions.queues() }), {
      detail: { operationId: "getQueues", summary: "Sessions with running or waiting turns", tags: ["sessions"] },
    })
}
