/**
 * Who may reach the agent through Slack. DMs: users in `allowedUsers` or approved through pairing
 * (with `pairing` on, a stranger is offered a code and nothing else). Channels: off by default; when
 * enabled, only the listed channels, only @mentions of the bot (or follow-ups in a thread the bot is
 * already answering), and by default only from allowed users. Everything else (bots, edits, joins,
 * strangers) is dropped without an answer and without a provider request.
 */
import type { SlackConfig } from "../../core/slack-config.ts"
import type { SlackFile } from "./files.ts"

/** The parts of a Slack message event this channel reads. */
export interface SlackMessage {
  type: string
  subtype?: string
  user?: string
  bot_id?: string
  text?: string
  ts: string
  thread_ts?: string
  channel: string
  channel_type?: string
  files?: SlackFile[]
}

export type Verdict = { kind: "allow"; text: string } | { kind: "pair" } | { kind: "ignore"; reason: string }

export interface AccessDeps {
  config: SlackConfig
  botUser: string
  /** Approved through pairing, besides `allowedUsers`. */
  approved(userId: string): Promise<boolean>
  /** Whether a thread (`<channel>:<thread ts>`) already has a session here. */
  knownThread(conversation: string): Promise<boolean>
}

export const isAllowedUser = async (deps: Pick<AccessDeps, "config" | "approved">, userId: string) =>
  deps.config.allowedUsers.includes(userId) || (await deps.approved(userId))

/** The conversation a message belongs to: the DM itself, or the thread (started by the message, in a channel). */
export function conversationOf(event: SlackMessage): string {
  const dm = event.channel.startsWith("D")
  if (event.thread_ts) return `${event.channel}:${event.thread_ts}`
  return dm ? event.channel : `${event.channel}:${event.ts}`
}

export async function judge(deps: AccessDeps, event: SlackMessage): Promise<Verdict> {
  if (!event.user || event.bot_id || event.user === deps.botUser) return { kind: "ignore", reason: "not from a person" }
  if (event.subtype && event.subtype !== "file_share") return { kind: "ignore", reason: `message ${event.subtype}` }
  const text = event.text ?? ""
  const dm = event.channel.startsWith("D")
  if (dm) {
    // A DM also arrives as app_mention when it mentions the bot; the message event answers it.
    if (event.type !== "message") return { kind: "ignore", reason: "duplicate of a DM message" }
    if (await isAllowedUser(deps, event.user)) return { kind: "allow", text: stripMention(text, deps.botUser) }
    return deps.config.pairing ? { kind: "pair" } : { kind: "ignore", reason: "user not allowed" }
  }
  const channels = deps.config.channels
  if (!channels.enabled) return { kind: "ignore", reason: "channels are disabled" }
  if (!channels.allowed.includes(event.channel)) return { kind: "ignore", reason: "channel not allowed" }
  if (channels.members === "allowed" && !(await isAllowedUser(deps, event.user)))
    return { kind: "ignore", reason: "channel member not allowed" }
  const mentioned = text.includes(`<@${deps.botUser}>`)
  if (event.type === "app_mention") return { kind: "allow", text: stripMention(text, deps.botUser) }
  // A mention comes twice (message and app_mention): app_mention answers it.
  if (mentioned) return { kind: "ignore", reason: "duplicate of an app_mention" }
  if (event.thread_ts && (await deps.knownThread(conversationOf(event))))
    return { kind: "allow", text: unescapeSlack(text) }
  return { kind: "ignore", reason: "not addressed to the bot" }
}

function stripMention(text: string, botUser: string): string {
  return unescapeSlack(text.replaceAll(`<@${botUser}>`, "").trim())
}

/** Slack escapes `&`, `<` and `>` in message text; the agent reads what the person typed. */
export function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&")
}
