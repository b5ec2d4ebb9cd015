/**
 * Delivery of scheduled and background results: how an answer produced without an incoming message
 * reaches a conversation. Every channel instance registers a sender under its name (`telegram`,
 * `discord#2`, …) that posts plain text split at the platform's length, and a locator that tells which
 * of its conversations a session belongs to (so a reminder made in a chat, or a background job started
 * there, reports back to it). `registerChannelDelivery` does both for any channel; Telegram's below.
 */
import { Api } from "grammy"
import type { TelegramConfig } from "../core/channel-config.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { componentNames } from "./registry.ts"
import { resolveToken } from "./telegram/token.ts"

const DEFAULT_API_ROOT = "https://api.telegram.org"

/** Plain text cut into pieces of at most `limit`, preferring line ends in the second half. */
export function pieces(text: string, limit: number): string[] {
  const out: string[] = []
  let rest = text
  while (rest.length > limit) {
    const cut = rest.lastIndexOf("\n", limit) > limit / 2 ? rest.lastIndexOf("\n", limit) : limit
    out.push(rest.slice(0, cut))
    rest = rest.slice(cut).replace(/^\n/, "")
  }
  if (rest) out.push(rest)
  return out
}

export interface ChannelDelivery {
  /** The instance's name (`discord`, `discord#2`): what a schedule's `deliver.channel` names. */
  component: string
  /** The session channel its sessions carry. */
  kind: string
  /** The conversation of a session's channelKey if this instance owns it, else null. */
  conversationOf(channelKey: string): string | null
  /** Longest message the platform takes (text is split below it). */
  limit: number
  /** Post one plain-text message to a conversation. */
  post(conversation: string, text: string): Promise<void>
}

/** Register a channel instance's sender and locator for schedules and background results. */
export function registerChannelDelivery(gw: Gateway, delivery: ChannelDelivery) {
  gw.continuity.deliveries.registerLocator(delivery.kind, (key) => {
    const conversation = delivery.conversationOf(key)
    return conversation === null ? null : { channel: delivery.component, chat: conversation }
  })
  gw.continuity.deliveries.register(delivery.component, async (chat, text) => {
    for (const piece of pieces(text, delivery.limit)) await delivery.post(String(chat), piece)
  })
}

/** Every Telegram entry of the config (the registry registers each instance itself). */
export function registerDeliveries(gw: Gateway) {
  const entries = gw.config.channels ?? []
  const names = componentNames(entries)
  entries.forEach((entry, index) => {
    if (entry.kind === "telegram") registerTelegramDelivery(gw, entry, names[index]!)
  })
}

/** One Telegram bot's sender, under its component name, and the locator of its chats. */
export function registerTelegramDelivery(gw: Gateway, channel: TelegramConfig, name: string) {
  const token = resolveToken(channel, gw.config.stateDir)
  if (!token.ok) return
  const api = new Api(token.token, { apiRoot: (channel.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, "") })
  // Its sessions are keyed `<botId>:<chatId>` (bot.ts): those chats are delivered to under this name.
  gw.continuity.deliveries.registerLocator("telegram", (key) => {
    const match = key.match(/^(\d+):(-?\d+)$/)
    return match && match[1] === token.botId ? { channel: name, chat: Number(match[2]) } : null
  })
  gw.continuity.deliveries.register(name, async (chat, text) => {
    const chatId = typeof chat === "number" ? chat : /^-?\d+$/.test(chat) ? Number(chat) : chat
    for (const piece of pieces(text, 4_000)) await api.sendMessage(chatId, piece)
  })
}
