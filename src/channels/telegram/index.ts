/**
 * The Telegram channel as the contract's registry sees it (src/channels/registry.ts): one bot per
 * `channels` entry of kind "telegram", its schedule delivery, and `drost setup`'s live check (getMe).
 */
import type { TelegramConfig } from "../../core/channel-config.ts"
import type { ChannelDefinition } from "../contract.ts"
import { registerTelegramDelivery } from "../deliver.ts"
import { createTelegramChannel } from "./bot.ts"
import { resolveToken } from "./token.ts"

export const telegram: ChannelDefinition<TelegramConfig> = {
  kind: "telegram",
  create: (gw, config, component) => createTelegramChannel(gw, config, component),
  registerDelivery: registerTelegramDelivery,
  async check(config, stateDir) {
    const token = resolveToken(config, stateDir)
    if (!token.ok) return { ok: false, problem: token.problem }
    const root = (config.apiRoot ?? "https://api.telegram.org").replace(/\/+$/, "")
    try {
      const response = await fetch(`${root}/bot${token.token}/getMe`, { signal: AbortSignal.timeout(10_000) })
      const body = (await response.json()) as { ok: boolean; description?: string; result?: { username?: string } }
      return body.ok
        ? { ok: true, identity: `@${body.result?.username ?? token.botId}` }
        : { ok: false, problem: `Telegram answered ${response.status} ${body.description ?? ""}`.trim() }
    } catch (error) {
      return { ok: false, problem: `cannot reach Telegram (${error instanceof Error ? error.message : String(error)})` }
    }
  },
}
