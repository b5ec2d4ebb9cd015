/**
 * Telegram pairing through the Control API: list open codes and approvals, approve a code (admin
 * token; POST is a mutation). The running channel notices the approval and tells the user.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import type { Pairing as StoredPairing } from "../store/engine/contract.ts"
import { invalid, problem } from "./schemas.ts"

const Pairing = t.Object({
  code: t.String({ description: "Empty once approved: a code works once" }),
  botId: t.String(),
  userId: t.Number(),
  chatId: t.Number(),
  name: t.String(),
  createdAt: t.Number(),
  expiresAt: t.Number(),
  approvedAt: t.Union([t.Number(), t.Null()]),
})

export function telegramRoutes(gw: Gateway) {
  const store = gw.data.telegram
  const view = (pairing: StoredPairing) => ({
    code: pairing.approvedAt ? "" : pairing.code,
    botId: pairing.botId,
    userId: pairing.userId,
    chatId: pairing.chatId,
    name: pairing.name,
    createdAt: pairing.createdAt,
    expiresAt: pairing.expiresAt,
    approvedAt: pairing.approvedAt,
  })
  return new Elysia().group("/control/v1/telegram", (app) =>
    app
      .get("/pairings", async () => ({ pairings: (await store.list()).map(view) }), {
        response: {
          200: t.Object({ pairings: t.Array(Pairing) }, { description: "Open codes and approved users, newest first" }),
        },
        detail: {
          operationId: "listTelegramPairings",
          tags: ["telegram"],
          summary: "Open pairing codes and approved users",
          description:
            "A Telegram user who is not allowed gets a pairing code from the bot (`channels[].pairing`); each open code is listed with who asked, until it is approved (then `code` is empty and `approvedAt` set) or expires an hour later.",
        },
      })
      .post(
        "/pairings/:code/approve",
        async ({ params, status }) => {
          const pairing = await store.approve(params.code)
          if (!pairing)
            return status(404, {
              error: "NotFound",
              message: `no open pairing with code "${params.code}" (codes work once and expire after an hour)`,
            })
          return { approved: view(pairing) }
        },
        {
          params: t.Object({ code: t.String({ minLength: 4, maxLength: 32 }) }),
          response: {
            200: t.Object({ approved: Pairing }, { description: "Approved: the user may talk to the agent" }),
            400: invalid,
            404: problem("No open pairing with this code (codes work once and expire after an hour)"),
          },
          detail: {
            operationId: "approveTelegramPairing",
            tags: ["telegram"],
            summary: "Approve a pairing code",
            description:
              "The Telegram user who received the code may talk to the agent from now on; the bot tells them within a few seconds.",
          },
        },
      ),
  )
}
