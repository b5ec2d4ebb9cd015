/**
 * Approvals in Discord: when a call in a session this bot owns waits for a person, its conversation
 * gets a message with buttons (Approve / Deny / Allow for this session). A press is an
 * INTERACTION_CREATE of type MESSAGE_COMPONENT; it decides only when it comes from the conversation
 * that owns the session and from an allowed user; anyone else gets an ephemeral answer and nothing
 * changes. Every press is acknowledged within Discord's 3 seconds, and once the approval is decided —
 * here, in the terminal, over the API, or by the timeout — the buttons are replaced by one disabled
 * button that says what happened. Presses skip the conversation's lane: that lane is busy with the
 * very turn that waits.
 */
import type { API, APIMessageComponentInteraction } from "@discordjs/core"
import { AGENT_CHANNEL } from "../../agent/jobs.ts"
import type { Choice, Decided, Pending } from "../../approval/approval.ts"
import { ApprovalEvent } from "../../approval/events.ts"
import { duration } from "../../approval/service.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import type { Logger } from "../../util/log.ts"
import type { Pacer } from "../pacer.ts"

export interface ApprovalButtonsDeps {
  gw: Gateway
  api: API
  botId: string
  log: Logger
  pacer(conversation: string): Pacer
  allowed(userId: string): Promise<boolean>
}

const CHOICES: Record<string, Choice> = { a: "approve", d: "deny", s: "session" }
const DATA = /^apr:(apr_[a-z0-9]{1,40}):([adsx])$/
const EPHEMERAL = 64

const button = (label: string, id: string, style: number, disabled = false) => ({
  type: 2,
  style,
  label,
  custom_id: id,
  disabled,
})

function buttons(id: string) {
  return [
    {
      type: 1,
      components: [
        button("Approve", `apr:${id}:a`, 3),
        button("Deny", `apr:${id}:d`, 4),
        button("Allow for this session", `apr:${id}:s`, 2),
      ],
    },
  ]
}

function outcome(decided: Decided) {
  const who = decided.by.startsWith("discord:") || decided.by === "system" ? "" : ` (${decided.by})`
  const label =
    decided.decision === "approve"
      ? `Approved${who}`
      : decided.decision === "session"
        ? `Allowed for this session${who}`
        : decided.decision === "deny"
          ? `Denied${who}`
          : decided.decision === "timeout"
            ? "Nobody decided: denied"
            : "Not run (the call ended)"
  return [{ type: 1, components: [button(label.slice(0, 80), `apr:${decided.id}:x`, 2, true)] }]
}

function describe(pending: Pending): string {
  let args = JSON.stringify(pending.args, null, 2) ?? "{}"
  if (args.length > 1500) args = `${args.slice(0, 1500)}\n…`
  return [
    `🔐 **Approval needed**: the agent wants to call \`${pending.tool}\``,
    `\`\`\`json\n${args.replaceAll("```", "`\u200b``")}\n\`\`\``,
    `Denied automatically in ${duration(pending.expiresAt - pending.requestedAt)} if nobody decides.`,
  ].join("\n")
}

export function createApprovalButtons(deps: ApprovalButtonsDeps) {
  const { gw, api, botId, log } = deps
  const shown = new Map<string, { conversation: string; messageId: string }>()
  const sending = new Map<string, Decided | null>()

  /** The conversation of a session this bot owns, or null. */
  const conversationOf = async (sessionId: string): Promise<string | null> => {
    const own = await gw.data.sessions.get(sessionId)
    const session = own?.channel === AGENT_CHANNEL && own.channelKey ? await gw.data.sessions.get(own.channelKey) : own
    if (session?.channel !== "discord" || !session.channelKey?.startsWith(`${botId}:`)) return null
    return session.channelKey.slice(botId.length + 1)
  }

  const ask = async (pending: Pending) => {
    if (shown.has(pending.id) || sending.has(pending.id)) return
    // Marked before the store read, so a second ask of the same approval meanwhile returns above.
    sending.set(pending.id, null)
    let conversation: string | null = null
    try {
      conversation = await conversationOf(pending.sessionId)
      if (conversation === null) return
      const channel = conversation
      const sent = await deps
        .pacer(conversation)
        .run(() => api.channels.createMessage(channel, { content: describe(pending), components: buttons(pending.id) }))
      shown.set(pending.id, { conversation: channel, messageId: sent.id })
      const early = sending.get(pending.id)
      sending.delete(pending.id)
      if (early) await settle(early)
    } catch (error) {
      log.warn("could not show approval buttons", { id: pending.id, conversation, error: String(error) })
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
    await deps
      .pacer(where.conversation)
      .run(() => api.channels.editMessage(where.conversation, where.messageId, { components: outcome(decided) }))
      .catch((error) => log.warn("could not show an approval's decision", { id: decided.id, error: String(error) }))
  }

  const reply = (interaction: APIMessageComponentInteraction, content: string) =>
    api.interactions
      .reply(interaction.id, interaction.token, { content, flags: EPHEMERAL })
      .catch((error) => log.warn("answering a button press failed", { error: String(error) }))

  /** One button press; true when it was an approval button (answered either way). */
  const press = async (interaction: APIMessageComponentInteraction): Promise<boolean> => {
    const match = DATA.exec(interaction.data.custom_id)
    if (!match) return false
    const user = interaction.member?.user ?? interaction.user
    const choice = CHOICES[match[2] ?? ""]
    const pending = gw.approvals.get(match[1]!)
    if (!pending || !choice || !user) {
      await reply(interaction, "This approval is no longer waiting.")
      return true
    }
    const conversation = interaction.channel?.id ?? interaction.channel_id
    const owner = (await conversationOf(pending.sessionId).catch(() => null)) === conversation
    // A store that cannot answer refuses the press: nothing is decided by someone it could not check.
    if (!owner || user.bot || !(await deps.allowed(user.id).catch(() => false))) {
      log.warn("approval press refused", { id: pending.id, user: user.id, channel: conversation })
      await reply(interaction, "Only an allowed user of this conversation can decide this.")
      return true
    }
    // The decision does not depend on the acknowledgement; the Decided event then replaces the buttons.
    try {
      gw.approvals.decide(pending.id, choice, {
        by: `discord:${user.id}`,
        label: `Discord user @${user.username} (${user.id})`,
      })
    } catch (error) {
      log.warn("approval press failed", { error: String(error) })
    }
    await api.interactions
      .deferMessageUpdate(interaction.id, interaction.token)
      .catch((error) => log.warn("acknowledging a button press failed", { error: String(error) }))
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
