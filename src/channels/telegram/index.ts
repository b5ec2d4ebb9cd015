/**
 * The channels the configuration lists, started after the gateway and stopped before it drains.
 */
import type { Gateway } from "../../gateway/gateway.ts"
import { createTelegramChannel, type TelegramChannel } from "./bot.ts"

export interface Channels {
  stop(): Promise<void>
}

export function startChannels(gw: Gateway): Channels {
  const list: TelegramChannel[] = (gw.config.channels ?? []).map((channel, index) =>
    createTelegramChannel(gw, channel, index === 0 ? "telegram" : `telegram#${index + 1}`),
  )
  for (const channel of list) channel.start()
  return {
    async stop() {
      await Promise.all(list.map((channel) => channel.stop(gw.config.shutdown.graceMs)))
    },
  }
}
