/**
 * The Discord channel as the contract's registry sees it (src/channels/registry.ts): one bot per
 * `channels` entry of kind "discord", its schedule delivery (plain Markdown messages to the conversation
 * a session belongs to) and `drost setup`'s live check (GET /users/@me with the bot token).
 */
import { API } from "@discordjs/core"
import { REST } from "@discordjs/rest"
import type { DiscordConfig } from "../../core/channel-config.ts"
import type { ChannelDefinition, LiveCheck } from "../contract.ts"
import type { Gateway } from "../../gateway/gateway.ts"
import { createDiscordChannel } from "./bot.ts"
import { split } from "./split.ts"
import { DEFAULT_API_ROOT, resolveToken } from "./token.ts"

const rootOf = (config: Pick<DiscordConfig, "apiRoot">) => (config.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, "")

/** Who the token belongs to (`@name`), or why it does not work. */
export async function checkDiscord(
  config: Pick<DiscordConfig, "token" | "tokenEnv" | "authProfile" | "apiRoot">,
  stateDir: string,
): Promise<LiveCheck> {
  const token = resolveToken(config, stateDir)
  if (!token.ok) return { ok: false, problem: token.problem }
  try {
    const response = await fetch(`${rootOf(config)}/v10/users/@me`, {
      headers: { authorization: `Bot ${token.token}` },
      signal: AbortSignal.timeout(10_000),
    })
    const body = (await response.json().catch(() => ({}))) as { username?: string; message?: string }
    return response.ok
      ? { ok: true, identity: `@${body.username ?? token.botId}` }
      : {
          ok: false,
          problem:
            `Discord answered ${response.status} ${body.message ?? ""}${response.status === 401 ? " (check the bot token; docs/discord.md)" : ""}`.trim(),
        }
  } catch (error) {
    return { ok: false, problem: `cannot reach Discord (${error instanceof Error ? error.message : String(error)})` }
  }
}

/** Sessions are keyed `<botId>:<conversation>`: those conversations are delivered to under this name. */
function registerDiscordDelivery(gw: Gateway, config: DiscordConfig, name: string) {
  const token = resolveToken(config, gw.config.stateDir)
  if (!token.ok) return
  gw.continuity.deliveries.registerLocator("discord", (key) => {
    const match = key.match(/^(\d+):(\d+)$/)
    return match && match[1] === token.botId ? { channel: name, chat: match[2]! } : null
  })
  // @discordjs/rest keeps to the rate-limit headers and waits out a 429, like the channel's own sends.
  // No sweep timers: this client lives as long as the gateway, which has no hook to clear them.
  const api = new API(
    new REST({ api: rootOf(config), version: "10", hashSweepInterval: 0, handlerSweepInterval: 0 }).setToken(
      token.token,
    ),
  )
  gw.continuity.deliveries.register(name, async (chat, text) => {
    for (const piece of split(text))
      await api.channels.createMessage(String(chat), { content: piece, allowed_mentions: { parse: [] } })
  })
}

export const discord: ChannelDefinition<DiscordConfig> = {
  kind: "discord",
  create: (gw, config, component) => createDiscordChannel(gw, config, component),
  registerDelivery: registerDiscordDelivery,
  check: checkDiscord,
}
