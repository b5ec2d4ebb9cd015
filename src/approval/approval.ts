/**
 * The vocabulary of approvals: a tool call that waits for a person (`tools.approve`), what a person can
 * decide, and how a wait ended. One schema each, so the bus events, the JSONL record, the Control API
 * and its OpenAPI document describe the same shapes.
 */
import { type Static, Type } from "../core/schema.ts"

/** A call waiting for a decision. `args` are the model's arguments, as the tool will receive them. */
export const Pending = Type.Object(
  {
    id: Type.String({ description: "Approval id (apr_…)", examples: ["apr_0mi7x2k3d000a1b2c3"] }),
    tool: Type.String({ description: "The tool the model wants to call", examples: ["shell"] }),
    args: Type.Unknown({ description: "Its arguments" }),
    sessionId: Type.String({ description: "The session whose turn made the call (control-api for the tool route)" }),
    turnId: Type.String(),
    callId: Type.String(),
    requestedAt: Type.Number({ description: "ms since the epoch" }),
    expiresAt: Type.Number({ description: "When it is denied if nobody decides (tools.approvalTimeoutMs)" }),
  },
  { additionalProperties: false },
)
export type Pending = Static<typeof Pending>

/** What a person answers: run it once, refuse it, or run it and every later call of this tool in this session. */
export const Choice = Type.Union([Type.Literal("approve"), Type.Literal("deny"), Type.Literal("session")], {
  description:
    '"approve": run this call; "deny": refuse it; "session": run it and allow this tool for the rest of the session (kept in memory until the gateway restarts)',
})
export type Choice = Static<typeof Choice>

/** How a wait ended: a person's choice, or one of the ways it ends without one (all of them deny). */
export const Outcome = Type.Union([Choice, Type.Literal("timeout"), Type.Literal("aborted"), Type.Literal("restart")])
export type Outcome = Static<typeof Outcome>

export const Decided = Type.Object(
  {
    id: Type.String(),
    tool: Type.String(),
    sessionId: Type.String(),
    turnId: Type.String(),
    callId: Type.String(),
    approved: Type.Boolean({ description: "Whether the call runs" }),
    decision: Outcome,
    by: Type.String({ description: "Who decided: control-api, telegram:<user id>, terminal, or system" }),
    reason: Type.String({ description: "Why, in words (shown to the model when denied)" }),
    decidedAt: Type.Number(),
  },
  { additionalProperties: false },
)
export type Decided = Static<typeof Decided>

/** Who is deciding, for the record: the channel and the person in it. */
export interface Decider {
  by: string
  /** Shown in the reason, e.g. "Telegram user 111". */
  label: string
}

export * as Approval from "./approval.ts"
