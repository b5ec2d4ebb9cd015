/**
 * Approvals over the Control API: the tool calls waiting for a person (`tools.approve`) and deciding
 * one. Deciding is a mutation, so the guard in app.ts admits only the admin token (the read token gets
 * 403 before this runs): the admin token is the owner of every session on this gateway.
 */
import { Elysia, t } from "elysia"
import { Choice, Decided, Pending } from "../approval/approval.ts"
import { NotFound } from "../core/error.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { described, invalid, problem } from "./schemas.ts"

export function approvalRoutes(gw: Gateway) {
  return new Elysia({ prefix: "/control/v1" })
    .get("/approvals", ({ query }) => ({ approvals: gw.approvals.list(query.session) }), {
      query: t.Object({ session: t.Optional(t.String({ description: "Only this session's approvals" })) }),
      response: { 200: t.Object({ approvals: t.Array(Pending) }, { description: "The waiting calls, oldest first" }) },
      detail: {
        operationId: "listApprovals",
        tags: ["tools"],
        summary: "Tool calls waiting for a person",
        description:
          "Calls of tools listed in `tools.approve`, oldest first. Each is denied at `expiresAt` if nobody decides. `approval.requested` and `approval.decided` on /control/v1/events announce changes.",
      },
    })
    .post(
      "/approvals/:id",
      ({ params, body, status }) => {
        try {
          return gw.approvals.decide(
            params.id,
            body.decision,
            { by: "control-api", label: "the Control API" },
            body.reason,
          )
        } catch (error) {
          if (!(error instanceof NotFound)) throw error
          return status(404, {
            error: "NotFound",
            message: `no pending approval "${params.id}" (already decided, timed out, or unknown); GET /control/v1/approvals lists the pending ones`,
          })
        }
      },
      {
        params: t.Object({ id: t.String({ description: "Approval id (apr_…)" }) }),
        body: t.Object(
          {
            decision: Choice,
            reason: t.Optional(t.String({ maxLength: 500, description: "Recorded, and shown to the model on a deny" })),
          },
          { additionalProperties: false, examples: [{ decision: "approve" }, { decision: "deny", reason: "not now" }] },
        ),
        response: {
          200: described(Decided, "Decided: what was decided, by whom, and why"),
          400: invalid,
          404: problem("No such pending approval (already decided, timed out, or unknown)"),
        },
        detail: {
          operationId: "decideApproval",
          tags: ["tools"],
          summary: "Approve or deny a waiting tool call",
          description:
            "`approve` runs the call; `deny` returns an error result to the model saying a person refused; `session` runs it and lets later calls of the same tool in that session run without asking (until the gateway restarts). Needs the admin token. 404 once it was decided or timed out.",
        },
      },
    )
}
