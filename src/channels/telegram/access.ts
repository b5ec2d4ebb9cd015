/**
 * Who may reach the agent. Private chats: users in `allowedUsers` or approved through pairing; with
 * pairing on, a stranger is offered a code and nothing else. Groups: off by default; when enabled,
 * only the listed groups, only messages that mention the bot or reply to it, and (by default) only
 * from allowed users. Everything else is dropped without an answer.
 */
import type { Message, UserFromGetMe } from "grammy/types"
import type { TelegramConfig } from "../../core/channel-config.ts"

export type Verdict = { kind: "allow"; text: string } | { kind: "pair" } | { kind: "ignore"; reason: string }

export interface AccessDeps {
  config: TelegramConfig
  me: UserFromGetMe
  /** Approved through pairing (the store), besides `allowedUsers`. */
  approved(userId: number): boolean
}

export function isAllowedUser(deps: AccessDeps, userId: number): boolean {
  return deps.config.allowedUsers.includes(userId) || deps.approved(userId)
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

export function judge(deps: AccessDeps, message: Message): Verdict {
  const from = message.from
  if (!from || from.is_bot) return { kind: "ignore", reason: "not from a person" }
  const text = message.text ?? message.caption ?? ""
  if (message.chat.type === "private") {
    if (isAllowedUser(deps, from.id)) return { kind: "allow", text }
    return deps.config.pairing ? { kind: "pair" } : { kind: "ignore", reason: "user not allowed" }
  }
  if (message.chat.type === "channel") return { kind: "ignore", reason: "channel posts are not handled" }
  const groups = deps.config.groups
  if (!groups.enabled) return { kind: "ignore", reason: "groups are disabled" }
  if (!groups.allowed.includes(message.chat.id)) return { kind: "ignore", reason: "group not allowed" }
  if (groups.members === "allowed" && !isAllowedUser(deps, from.id))
    return { kind: "ignore", reason: "group member not allowed" }
  const target = addressed(message, deps.me)
  if (!target.yes) return { kind: "ignore", reason: "not addressed to the bot" }
  return { kind: "allow", text: target.text }
}
