/**
 * The approval service. Its `hook` is the tool registry's approver: a call whose tool matches
 * `tools.approve` (patterns as in the tool policy) waits here until a person decides through a channel
 * (Telegram buttons, the terminal chat, the Control API), the timeout denies it, or the call's signal
 * aborts (turn aborted, client gone, gateway stopping). Every ending is a journal line and an
 * `approval.decided` event; only "approve" and "session" let the call run.
 *
 * The service knows nothing of channels: who may decide is checked by each channel before it calls
 * `decide` (Telegram: an allowed user in the chat that owns the session; API: the admin token).
 * "Allow for this session" grants live in memory and end with the process, on purpose: a restart
 * asks again.
 */
import type { Bus } from "../bus/bus.ts"
import { NotFound } from "../core/error.ts"
import { matches } from "../tool/policy.ts"
import type { ApprovalCall, ApprovalVerdict } from "../tool/registry.ts"
import type { Logger } from "../util/log.ts"
import type { Choice, Decided, Decider, Outcome, Pending } from "./approval.ts"
import { ApprovalEvent } from "./events.ts"
import { createJournal, journalFile } from "./journal.ts"

export interface ApprovalSettings {
  /** Tool names or patterns (`shell`, `git.*`, `*`) whose calls wait for a person. */
  approve: string[]
  timeoutMs: number
}

export interface ApprovalsDeps {
  stateDir: string
  bus: Bus
  log: Logger
  settings: () => ApprovalSettings
}

const SYSTEM: Decider = { by: "system", label: "the gateway" }

/** 600000 → "10 min", 1500 → "1.5 s". */
export function duration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`
  return `${Math.round(ms / 100) / 10} s`
}

function approvalId(): string {
  const random = crypto.getRandomValues(new Uint8Array(8)).reduce((out, byte) => out + (byte % 36).toString(36), "")
  return `apr_${Date.now().toString(36)}${random}`
}

export function createApprovals(deps: ApprovalsDeps) {
  const { bus, log } = deps
  const journal = createJournal(journalFile(deps.stateDir))
  const waiting = new Map<string, { pending: Pending; settle(decided: Decided): void }>()
  /** sessionId → tools a person allowed for the rest of that session. */
  const grants = new Map<string, Set<string>>()

  /** Record and publish how a wait ended; the journal line is written before the call may run. */
  const record = (pending: Pending, decision: Outcome, decider: Decider, reason: string): Decided => {
    const decided: Decided = {
      ...base(pending),
      approved: decision === "approve" || decision === "session",
      decision,
      by: decider.by,
      reason,
      decidedAt: Date.now(),
    }
    try {
      journal.decided(decided)
    } catch (error) {
      // A decision that cannot be recorded does not let the call run.
      log.error("could not record an approval decision; the call is denied", { id: pending.id, error: String(error) })
      if (decided.approved)
        decided.reason = `approved, but the decision could not be recorded (${String(error)}), so it was denied`
      decided.approved = false
    }
    bus.publish(ApprovalEvent.Decided, decided)
    log.info("tool call approval decided", { id: pending.id, tool: pending.tool, decision, by: decider.by })
    return decided
  }
  const base = (pending: Pending) => ({
    id: pending.id,
    tool: pending.tool,
    sessionId: pending.sessionId,
    turnId: pending.turnId,
    callId: pending.callId,
  })
  const finish = (id: string, decision: Outcome, decider: Decider, reason: string): Decided | null => {
    const entry = waiting.get(id)
    if (!entry) return null
    waiting.delete(id)
    const decided = record(entry.pending, decision, decider, reason)
    if (decided.approved && decision === "session") {
      const tools = grants.get(entry.pending.sessionId) ?? new Set<string>()
      tools.add(entry.pending.tool)
      grants.set(entry.pending.sessionId, tools)
    }
    entry.settle(decided)
    return decided
  }

  const service = {
    journal: journal.file,
    /** Whether calls of `tool` wait for a person (before any session grant). */
    required: (tool: string) => deps.settings().approve.some((pattern) => matches(pattern, tool)),

    /** The registry's approver. Always resolves; anything unexpected denies. */
    async hook(call: ApprovalCall): Promise<ApprovalVerdict> {
      if (!service.required(call.name)) return { approved: true }
      if (grants.get(call.sessionId)?.has(call.name)) return { approved: true }
      return service.ask(call)
    },

    /**
     * Wait for a person's decision on `call` whatever tools.approve says (the budget check asks this
     * way for a turn over its limit). Always resolves; anything unexpected denies.
     */
    async ask(call: ApprovalCall): Promise<ApprovalVerdict> {
      if (call.signal.aborted) return { approved: false, reason: "the call was aborted before it could be approved" }
      const timeoutMs = deps.settings().timeoutMs
      const now = Date.now()
      const pending: Pending = {
        id: approvalId(),
        tool: call.name,
        args: call.args,
        sessionId: call.sessionId,
        turnId: call.turnId,
        callId: call.callId,
        requestedAt: now,
        expiresAt: now + timeoutMs,
      }
      try {
        journal.requested(pending)
      } catch (error) {
        log.error("could not record an approval request; the call is denied", { error: String(error) })
        return { approved: false, reason: `the approval request could not be recorded (${String(error)})` }
      }
      const decided = await new Promise<Decided>((resolve) => {
        const timer = setTimeout(
          () => finish(pending.id, "timeout", SYSTEM, `nobody decided within ${duration(timeoutMs)}`),
          timeoutMs,
        )
        const onAbort = () =>
          finish(
            pending.id,
            "aborted",
            SYSTEM,
            `the call was aborted while it waited for a decision (${String(call.signal.reason ?? "aborted")})`,
          )
        call.signal.addEventListener("abort", onAbort, { once: true })
        waiting.set(pending.id, {
          pending,
          settle(decided) {
            clearTimeout(timer)
            call.signal.removeEventListener("abort", onAbort)
            resolve(decided)
          },
        })
        bus.publish(ApprovalEvent.Requested, pending)
        log.info("tool call waits for approval", { id: pending.id, tool: pending.tool, session: pending.sessionId })
      })
      return decided.approved ? { approved: true } : { approved: false, reason: decided.reason }
    },

    /** Pending approvals, oldest first; only one session's with `sessionId`. */
    list: (sessionId?: string): Pending[] =>
      [...waiting.values()]
        .map((entry) => entry.pending)
        .filter((pending) => !sessionId || pending.sessionId === sessionId)
        .sort((a, b) => a.requestedAt - b.requestedAt),
    get: (id: string): Pending | null => waiting.get(id)?.pending ?? null,

    /**
     * A person's decision. The caller has checked that `decider` owns the session. Throws NotFound when
     * the approval is not waiting (unknown, already decided, timed out).
     */
    decide(id: string, choice: Choice, decider: Decider, note?: string): Decided {
      const text = note?.trim() ? `: ${note.trim().slice(0, 500)}` : ""
      const reason =
        choice === "deny"
          ? `denied by a person (${decider.label})${text}`
          : choice === "session"
            ? `allowed for this session by ${decider.label}${text}`
            : `approved by ${decider.label}${text}`
      const decided = finish(id, choice, decider, reason)
      if (!decided) throw new NotFound("pending approval", id)
      return decided
    },

    /**
     * At start: requests the previous run left undecided (it crashed or was killed while they waited)
     * are denied and recorded; their turns were interrupted, so there is nobody to ask again.
     */
    recover(): Decided[] {
      return journal.open().map((pending) => {
        log.warn("an approval was pending when the gateway stopped; recorded as denied", { id: pending.id })
        return record(pending, "restart", SYSTEM, "the gateway restarted before anyone decided; the call did not run")
      })
    },

    /** Deny everything still waiting (the gateway is stopping). */
    close(reason = "the gateway is stopping") {
      for (const id of [...waiting.keys()]) finish(id, "aborted", SYSTEM, reason)
    },
  }
  return service
}

export type Approvals = ReturnType<typeof createApprovals>
