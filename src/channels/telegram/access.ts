/**
 * Who may reach the agent. Private chats: users in `allowedUsers` or approved through pairing; with
 * pairing on, a stranger is offered a code and nothing else. Groups: off by default; when enabled,
 * only the listed groups, only messages that mention the bot or reply to it, and (by default) only
 * from allowed users. Everything else is dropped without an answer.
 */
import type { Message, UserFromGetMe } from "grammy/types"
import type { TelegramConfig } from "../../core/channel-config.ts"
import { judgeAccess } from "../access.ts"
import type { AccessPolicy } from "../contract.ts"

export type Verdict = { kind: "allow"; text: string } | { kind: "pair" } | { kind: "ignore"; reason: string }

export interface AccessDeps {
  config: TelegramConfig
  me: UserFromGetMe
  /** Approved through pairing (the store), besides `allowedUsers`. */
  approved(userId: number): Promise<boolean>
}

export async function isAllowedUser(deps: AccessDeps, userId: number): Promise<boolean> {
  return deps.config.allowedUsers.includes(userId) || (await deps.approved(userId))
}

/** Whether a group message is addressed to the bot, and its text without the @mention. */
function addressed(message: Message, me: UserFromGetMe): { yes: boolean; text: string } {
  const text = message.text ?? message.caption ?? ""
  const mention = `@${me.username}`
  const entities = message.entities ?? message.caption_entities ?? []
  const mentioned = entities.some((entity) => {
    const part = text.slice(entity.offset, entity.offset + entity.length)
    if (entity.type === "mention") return part.toLowerCase() === mention.toLowerCase()
    if (entity.type === "bot_command") return part.toLowerCase().endsWith(mention.toLowerCase())
    if (entity.type === "text_mention") return entity.user?.id === me.id
    return false
  })
  const replied = message.reply_to_message?.from?.id === me.id
  const stripped = text
    .replace(new RegExp(`(^|\\s)${mention.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "gi"), "$1")
    .trim()
  return { yes: mentioned || replied, text: mentioned ? stripped : text }
}

/** Telegram's access settings as the contract's policy (ids as strings). */
export function policyOf(config: TelegramConfig): AccessPolicy {
  return {
    allowedUsers: config.allowedUsers.map(String),
    pairing: config.pairing,
    groups: { ...config.groups, allowed: config.groups.allowed.map(String) },
  }
}

export async function judge(deps: AccessDeps, message: Message): Promise<Verdict> {
  const from = message.from
  if (!from || from.is_bot) return { kind: "ignore", reason: "not from a person" }
  if (message.chat.type === "channel") return { kind: "ignore", reason: "channel posts are not handled" }
  const place = message.chat.type === "private" ? "dm" : "group"
  // Only a group message needs the mention check (and loses the @mention).
  const target =
    place === "group" ? addressed(message, deps.me) : { yes: true, text: message.text ?? message.caption ?? "" }
  const verdict = await judgeAccess(
    policyOf(deps.config),
    {
      user: { id: String(from.id), name: from.first_name },
      place,
      group: String(message.chat.id),
      addressed: target.yes,
    },
    (userId) => deps.approved(Number(userId)),
  )
  return verdict.kind === "allow" ? { kind: "allow", text: target.text } : verdict
}
