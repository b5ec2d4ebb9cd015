/**
 * Approvals in Slack: when a call in a session this app owns waits for a person, its conversation gets
 * a message with Block Kit buttons (Approve / Deny / Allow for this session). A press arrives as an
 * `interactive` envelope (block_actions); it decides only when it comes from the conversation that owns
 * the session and from an allowed user; anyone else changes nothing. Once the approval is decided
 * (here, in the terminal, over the API, or by the timeout) the buttons are replaced by the decision.
 * Presses skip the conversation's lane on purpose: that lane is busy with the very turn that waits.
 */
import type { WebClient } from "@slack/web-api"
import { AGENT_CHANNEL } from "../../agent/jobs.ts"
import type { Choice, Decided, Pending } from "../../approval/approval.ts"
import { ApprovalEvent } from "../../approval/events.ts"
import { duration } from "../../approval/service.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import type { Logger } from "../../util/log.ts"
import { escapeMrkdwn } from "./mrkdwn.ts"

export interface ApprovalDeps {
  gw: Gateway
  web: WebClient
  /** `<team>:<bot user>`: the prefix of this app's session keys. */
  scope: string
  log: Logger
  allowed(userId: string): Promise<boolean>
}

const CHOICES: Record<string, Choice> = { approve: "approve", deny: "deny", session: "session" }
const ACTION = /^drost_(approve|deny|session)$/

export interface BlockPress {
  user: { id: string }
  channel?: { id: string }
  container?: { message_ts?: string; thread_ts?: string }
  message?: { ts: string; thread_ts?: string }
  actions?: { action_id: string; value?: string }[]
}

function describe(pending: Pending): string {
  let args = JSON.stringify(pending.args, null, 2) ?? "{}"
  if (args.length > 1500) args = `${args.slice(0, 1500)}\n…`
  return [
    `🔐 *Approval needed*: the agent wants to call \`${escapeMrkdwn(pending.tool)}\``,
    `\`\`\`\n${escapeMrkdwn(args).replace(/```/g, "ˋˋˋ")}\n\`\`\``,
    `Denied automatically in ${duration(pending.expiresAt - pending.requestedAt)} if nobody decides.`,
  ].join("\n")
}

function blocks(pending: Pending) {
  const button = (text: string, choice: string, style?: "primary" | "danger") => ({
    type: "button",
    text: { type: "plain_text", text },
    action_id: `drost_${choice}`,
    value: pending.id,
    ...(style ? { style } : {}),
  })
  return [
    { type: "section", text: { type: "mrkdwn", text: describe(pending) } },
    {
      type: "actions",
      block_id: `approval_${pending.id}`,
      elements: [
        button("✅ Approve", "approve", "primary"),
        button("❌ Deny", "deny", "danger"),
        button("✅ Allow for this session", "session"),
      ],
    },
  ]
}

function outcome(decided: Decided): string {
  const who = decided.by.startsWith("slack:") || decided.by === "system" ? "" : ` (${decided.by})`
  return decided.decision === "approve"
    ? `✅ Approved${who}`
    : decided.decision === "session"
      ? `✅ Allowed for this session${who}`
      : decided.decision === "deny"
        ? `❌ Denied${who}`
        : decided.decision === "timeout"
          ? "⌛ Nobody decided: denied"
          : "⏹ Not run (the call ended)"
}

/** Session key `<scope>|<channel>[:<thread ts>]` → where its conversation is. */
export function placeOf(channelKey: string, scope: string): { channel: string; threadTs?: string } | null {
  if (!channelKey.startsWith(`${scope}|`)) return null
  const [channel, threadTs] = channelKey.slice(scope.length + 1).split(":")
  return channel ? { channel, ...(threadTs ? { threadTs } : {}) } : null
}

export function createApprovalButtons(deps: ApprovalDeps) {
  const { gw, web, log } = deps
  const shown = new Map<string, { channel: string; ts: string; text: string }>()
  const sending = new Map<string, Decided | null>()

  const conversationOf = async (sessionId: string) => {
    const own = await gw.data.sessions.get(sessionId)
    const session = own?.channel === AGENT_CHANNEL && own.channelKey ? await gw.data.sessions.get(own.channelKey) : own
    if (session?.channel !== "slack" || !session.channelKey) return null
    return placeOf(session.channelKey, deps.scope)
  }

  const ask = async (pending: Pending) => {
    if (shown.has(pending.id) || sending.has(pending.id)) return
    // Marked before the store read, so a second ask of the same approval meanwhile returns above.
    sending.set(pending.id, null)
    try {
      const place = await conversationOf(pending.sessionId)
      if (!place) return
      const text = `Approval needed: ${pending.tool}`
      const sent = await web.chat.postMessage({
        channel: place.channel,
        text,
        blocks: blocks(pending),
        ...(place.threadTs ? { thread_ts: place.threadTs } : {}),
      })
      shown.set(pending.id, { channel: place.channel, ts: String(sent.ts), text: describe(pending) })
      const early = sending.get(pending.id)
      sending.delete(pending.id)
      if (early) await settle(early)
    } catch (error) {
      log.warn("could not show approval buttons", { id: pending.id, error: String(error) })
    } finally {
      sending.delete(pending.id)
    }
  }

  const settle = async (decided: Decided): Promise<void> => {
    if (sending.has(decided.id)) {
      sending.set(decided.id, decided)
      return
    }
    const where = shown.get(decided.id)
    if (!where) return
    shown.delete(decided.id)
    await web.chat
      .update({
        channel: where.channel,
        ts: where.ts,
        text: outcome(decided),
        blocks: [
          { type: "section", text: { type: "mrkdwn", text: where.text } },
          { type: "context", elements: [{ type: "mrkdwn", text: outcome(decided) }] },
        ],
      })
      .catch((error) => log.warn("could not show an approval's decision", { id: decided.id, error: String(error) }))
  }

  /** A block_actions press: true when it was an approval button (decided or refused). Never rejects. */
  const press = async (body: BlockPress): Promise<boolean> => {
    const action = body.actions?.find((item) => ACTION.test(item.action_id))
    if (!action) return false
    const choice = CHOICES[ACTION.exec(action.action_id)![1]!]!
    const pending = action.value ? gw.approvals.get(action.value) : null
    if (!pending) return true
    const channel = body.channel?.id
    try {
      const place = await conversationOf(pending.sessionId)
      if (!place || place.channel !== channel || !(await deps.allowed(body.user.id))) {
        log.warn("approval press refused", { id: pending.id, user: body.user.id, channel })
        return true
      }
      gw.approvals.decide(pending.id, choice, { by: `slack:${body.user.id}`, label: `Slack user ${body.user.id}` })
    } catch (error) {
      log.warn("approval press failed", { id: pending.id, error: String(error) })
    }
    return true
  }

  let stops: (() => void)[] = []
  return {
    press,
    start() {
      stops = [
        gw.bus.subscribe(ApprovalEvent.Requested, (event) => void ask(event.data)),
        gw.bus.subscribe(ApprovalEvent.Decided, (event) => void settle(event.data)),
      ]
      for (const pending of gw.approvals.list()) void ask(pending)
    },
    stop() {
      for (const stop of stops) stop()
      stops = []
    },
  }
}
