/**
 * Who may reach the agent over Discord. DMs: users in `allowedUsers` or approved through pairing; with
 * pairing on, a stranger is offered a code and nothing else. Guilds: none by default; a listed guild is
 * answered only where the bot is mentioned (or replied to), only in its listed channels (a thread counts
 * as its parent channel; no list: every channel), and by default only for allowed users. Everything
 * else is dropped without an answer, before any provider is asked.
 */
import type { GatewayMessageCreateDispatchData } from "@discordjs/core"
import type { DiscordConfig } from "../../core/channel-config.ts"

export type Verdict = { kind: "allow"; text: string } | { kind: "pair" } | { kind: "ignore"; reason: string }

export interface AccessDeps {
  config: DiscordConfig
  botId: string
  approved(userId: string): Promise<boolean>
}

export async function isAllowedUser(deps: AccessDeps, userId: string): Promise<boolean> {
  return deps.config.allowedUsers.includes(userId) || (await deps.approved(userId))
}

/** The text without the bot's own mention (`<@id>` or the older `<@!id>`). */
export function withoutMention(text: string, botId: string): string {
  return text.replace(new RegExp(`<@!?${botId}>`, "g"), "").trim()
}

/**
 * `parent`: the channel a thread belongs to (null for a plain channel or a DM), looked up by the caller,
 * because a message does not say whether its channel is a thread.
 */
export async function judge(
  deps: AccessDeps,
  message: GatewayMessageCreateDispatchData,
  parent: string | null,
): Promise<Verdict> {
  const author = message.author
  if (author.bot || message.webhook_id) return { kind: "ignore", reason: "not from a person" }
  if (!message.guild_id) {
    if (await isAllowedUser(deps, author.id)) return { kind: "allow", text: message.content }
    return deps.config.pairing ? { kind: "pair" } : { kind: "ignore", reason: "user not allowed" }
  }
  const guild = deps.config.guilds.find((entry) => entry.id === message.guild_id)
  if (!guild) return { kind: "ignore", reason: "guild not allowed" }
  const channel = parent ?? message.channel_id
  if (guild.channels.length && !guild.channels.includes(channel))
    return { kind: "ignore", reason: "channel not allowed" }
  if (guild.members === "allowed" && !(await isAllowedUser(deps, author.id)))
    return { kind: "ignore", reason: "guild member not allowed" }
  const mentioned = message.mentions.some((user) => user.id === deps.botId)
  const replied = message.referenced_message?.author.id === deps.botId
  if (!mentioned && !replied) return { kind: "ignore", reason: "not addressed to the bot" }
  return { kind: "allow", text: withoutMention(message.content, deps.botId) }
}
