/**
 * Delivery for schedules: how an answer produced without an incoming message reaches a chat. Each
 * configured Telegram channel registers a sender under its name (`telegram`, `telegram#2`, …) that posts
 * plain text through the Bot API, split at Telegram's 4,096-character limit, and tells which of its
 * chats a Telegram session belongs to (so a reminder made in a chat goes back to it).
 */
import { Api } from "grammy"
import type { TelegramConfig } from "../core/channel-config.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { componentNames } from "./registry.ts"
import { resolveToken } from "./telegram/token.ts"

const LIMIT = 4_000
const DEFAULT_API_ROOT = "https://api.telegram.org"

function pieces(text: string): string[] {
  const out: string[] = []
  let rest = text
  while (rest.length > LIMIT) {
    // Prefer to break at a line end inside the limit.
    const cut = rest.lastIndexOf("\n", LIMIT) > LIMIT / 2 ? rest.lastIndexOf("\n", LIMIT) : LIMIT
    out.push(rest.slice(0, cut))
    rest = rest.slice(cut).replace(/^\n/, "")
  }
  if (rest) out.push(rest)
  return out
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
    for (const piece of pieces(text)) await api.sendMessage(chatId, piece)
  })
}
