/**
 * The delivery registry: channels register how to post text to one of their chats, and schedules
 * deliver through it by channel name. An unknown channel is an error that names the known ones.
 */
import { DrostError } from "../core/error.ts"

export type Sender = (chat: string | number, text: string) => Promise<void>

export type Deliveries = ReturnType<typeof createDeliveries>

export function createDeliveries() {
  const senders = new Map<string, Sender>()
  return {
    register: (channel: string, sender: Sender) => void senders.set(channel, sender),
    names: () => [...senders.keys()],
    async deliver(channel: string, chat: string | number, text: string): Promise<void> {
      const sender = senders.get(channel)
      if (!sender)
        throw new DrostError(
          "NotFound",
          `no channel "${channel}" can deliver (configured: ${[...senders.keys()].join(", ") || "none"})`,
        )
      await sender(chat, text)
    },
  }
}
