/**
 * Approvals with buttons, for every channel: when a call in a session the channel instance owns waits
 * for a person, the conversation gets the request with buttons (Approve / Deny / Allow for this
 * session); a press decides only when it comes from the conversation that owns the session and from
 * an allowed user; anyone else is refused and nothing changes. Once the approval is decided (here, in
 * the terminal, over the API, or by the timeout) the buttons are replaced by one that shows the decision.
 * A subagent's calls (agent.spawn) are asked in the conversation of the session that started it.
 *
 * The platform's part is an ApprovalSurface (show, settle) and parsing its button presses; button data
 * is the same on every platform (`apr:<id>:<a|d|s>`, `x` on a decided button), within Telegram's 64
 * bytes, Discord's 100-character custom_id and Slack's action value. Presses skip the conversation's
 * lane on purpose: that lane is busy with the very turn that waits.
 */
import { AGENT_CHANNEL } from "../agent/jobs.ts"
import type { Choice, Decided, Pending } from "../approval/approval.ts"
import { ApprovalEvent } from "../approval/events.ts"
import { duration } from "../approval/service.ts"
import type { Gateway } from "../gateway/gateway.ts"
import type { Logger } from "../util/log.ts"
import type { ApprovalPress, ApprovalSurface } from "./contract.ts"

const CHOICES: Record<string, Choice> = { a: "approve", d: "deny", s: "session" }
const DATA = /^apr:(apr_[a-z0-9]{1,40}):([adsx])$/

/** The buttons under a request, in rows, with the data a press carries. */
export function approvalButtons(id: string): { label: string; data: string; style: "approve" | "deny" }[][] {
  return [
    [
      { label: "✅ Approve", data: `apr:${id}:a`, style: "approve" },
      { label: "❌ Deny", data: `apr:${id}:d`, style: "deny" },
    ],
    [{ label: "✅ Allow for this session", data: `apr:${id}:s`, style: "approve" }],
  ]
}

/** A press's data: the approval and the choice; choice null for the decided button (or data not ours). */
export function parseApprovalData(data: string): { approvalId: string; choice: Choice | null } | null {
  const match = DATA.exec(data)
  return match ? { approvalId: match[1]!, choice: CHOICES[match[2]!] ?? null } : null
}

/** The one button a decided request shows (pressing it changes nothing). */
export function outcomeLabel(decided: Decided, kind: string): { label: string; data: string } {
  // A press in this conversation needs no name; another route says which (control-api, terminal).
  const who = decided.by.startsWith(`${kind}:`) || decided.by === "system" ? "" : ` (${decided.by})`
  const label =
    decided.decision === "approve"
      ? `✅ Approved${who}`
      : decided.decision === "session"
        ? `✅ Allowed for this session${who}`
        : decided.decision === "deny"
          ? `❌ Denied${who}`
          : decided.decision === "timeout"
            ? "⌛ Nobody decided: denied"
            : "⏹ Not run (the call ended)"
  return { label, data: `apr:${decided.id}:x` }
}

/** What a request says, for surfaces to format: the tool, its arguments (shortened) and the deadline. */
export function describeApproval(pending: Pending): { tool: string; args: string; deadline: string } {
  let args = JSON.stringify(pending.args, null, 2) ?? "{}"
  if (args.length > 1500) args = `${args.slice(0, 1500)}\n…`
  return {
    tool: pending.tool,
    args,
    deadline: `Denied automatically in ${duration(pending.expiresAt - pending.requestedAt)} if nobody decides.`,
  }
}

export interface ApprovalRelayDeps<Ref> {
  gw: Gateway
  /** The session channel ("telegram", "discord"): decisions are `by: "<kind>:<userId>"`. */
  kind: string
  log: Logger
  surface: ApprovalSurface<Ref>
  /** The conversation of a session's channelKey if this instance owns it (another bot's: null). */
  conversationOf(channelKey: string): string | null
  /** May this user talk to the bot (allowedUsers or paired)? A store read for a paired one. */
  allowed(userId: string): Promise<boolean>
}

/** How a press was answered: the text for the presser (an alert when refused). */
export interface PressAnswer {
  decided: boolean
  refused: boolean
  text: string
}

export function createApprovalRelay<Ref>(deps: ApprovalRelayDeps<Ref>) {
  const { gw, log, surface } = deps
  /** Approval id → where its buttons are. */
  const shown = new Map<string, Ref>()
  /** Approvals whose request is still on its way, with their decision if it came first. */
  const sending = new Map<string, Decided | null>()

  /**
   * Approval id → the conversation that owns its session, found when the approval was asked (before its
   * buttons were shown); a press is judged by it, so `press` reads no session (only a presser's pairing, when not in allowedUsers).
   */
  const owners = new Map<string, string>()

  /** The conversation of a session this instance owns, or null. */
  const conversationOfSession = async (sessionId: string): Promise<string | null> => {
    const own = await gw.data.sessions.get(sessionId)
    const session = own?.channel === AGENT_CHANNEL && own.channelKey ? await gw.data.sessions.get(own.channelKey) : own
    if (session?.channel !== deps.kind || !session.channelKey) return null
    return deps.conversationOf(session.channelKey)
  }

  const ask = async (pending: Pending) => {
    if (shown.has(pending.id) || sending.has(pending.id)) return
    // Marked before the store read, so a second ask of the same approval meanwhile returns above.
    sending.set(pending.id, null)
    let conversation: string | null = null
    try {
      conversation = await conversationOfSession(pending.sessionId)
      if (conversation === null) return
      owners.set(pending.id, conversation)
      shown.set(pending.id, await surface.show(conversation, pending))
      // Decided while the request was on its way: show that at once.
      const early = sending.get(pending.id)
      sending.delete(pending.id)
      if (early) await settle(early)
    } catch (error) {
      log.warn("could not show approval buttons", { id: pending.id, chat: conversation, error: String(error) })
    } finally {
      sending.delete(pending.id)
    }
  }

  const settle = async (decided: Decided): Promise<void> => {
    if (sending.has(decided.id)) {
      sending.set(decided.id, decided)
      return
    }
    owners.delete(decided.id)
    const where = shown.get(decided.id)
    if (where === undefined) return
    shown.delete(decided.id)
    await surface
      .settle(where, decided)
      .catch((error) => log.warn("could not show an approval's decision", { id: decided.id, error: String(error) }))
  }

  let stops: (() => void)[] = []
  return {
    start() {
      stops = [
        gw.bus.subscribe(ApprovalEvent.Requested, (event) => void ask(event.data)),
        gw.bus.subscribe(ApprovalEvent.Decided, (event) => void settle(event.data)),
      ]
      // Approvals that began before the channel was up (a turn from another client in one of its sessions).
      for (const pending of gw.approvals.list()) void ask(pending)
    },
    stop() {
      for (const stop of stops) stop()
      stops = []
    },
    /**
     * Decide on a press, if the presser may (an allowed user in the conversation the approval was asked in).
     * `label` names the person for the approvals journal.
     * Never rejects: a press on something no longer waiting (or a store that cannot answer) is answered as such.
     */
    async press(
      input: Omit<ApprovalPress, "choice"> & { choice: Choice | null; label: string; bot?: boolean },
    ): Promise<PressAnswer> {
      try {
        const pending = gw.approvals.get(input.approvalId)
        if (!pending || !input.choice)
          return { decided: false, refused: false, text: "This approval is no longer waiting." }
        const owner = owners.get(pending.id) === input.conversation
        if (!owner || input.bot || !(await deps.allowed(input.userId))) {
          log.warn("approval press refused", { id: pending.id, user: input.userId, chat: input.conversation })
          return { decided: false, refused: true, text: "Only an allowed user of this chat can decide this." }
        }
        const decided = gw.approvals.decide(pending.id, input.choice, {
          by: `${deps.kind}:${input.userId}`,
          label: input.label,
        })
        return {
          decided: true,
          refused: false,
          text: decided.approved ? (input.choice === "session" ? "Allowed for this session" : "Approved") : "Denied",
        }
      } catch (error) {
        log.warn("approval press failed", { error: String(error) })
        return { decided: false, refused: false, text: "This approval is no longer waiting." }
      }
    },
  }
}
