/**
 * Bus events of approvals. Both carry `sessionId`, so `/control/v1/events?session=<id>` and the
 * channels can pick out the approvals of one conversation; the JSONL sink keeps them like any event.
 */
import { defineEvent } from "../core/event.ts"
import { Decided, Pending } from "./approval.ts"

export const ApprovalEvent = {
  Requested: defineEvent("approval.requested", Pending),
  Decided: defineEvent("approval.decided", Decided),
}
