/**
 * The delivery registry: channels register how to post text to one of their chats, and schedules
 * deliver through it by channel name. An unknown channel is an error that names the known ones.
 * Channels also say which of their chats a session belongs to (`locate`), so a reminder made in a
 * chat is delivered back to it.
 */
import { DrostError } from "../core/error.ts"

export type Sender = (chat: string | number, text: string) => Promise<void>

/** The delivery target of a session's chat (`session.channelKey` as its channel wrote it), or null. */
export type Locator = (channelKey: string) => { channel: string; chat: string | number } | null

export type Deliveries = ReturnType<typeof createDeliveries>

export function createDeliveries() {
  const senders = new Map<string, Sender>()
  const locators = new Map<string, Locator[]>()
  const listeners = new Set<() => void>()
  return {
    register(channel: string, sender: Sender) {
      senders.set(channel, sender)
      for (const listener of listeners) listener()
    },
    /** Called whenever a channel registers (notes that waited for their chat can go out now). */
    onRegister: (listener: () => void) => void listeners.add(listener),
    /** `kind`: the `channel` its sessions carry (telegram). */
    registerLocator: (kind: string, locator: Locator) =>
      void locators.set(kind, [...(locators.get(kind) ?? []), locator]),
    locate(session: { channel: string | null; channelKey: string | null }) {
      if (!session.channel || !session.channelKey) return null
      for (const locator of locators.get(session.channel) ?? []) {
        const found = locator(session.channelKey)
        if (found) return found
      }
      return null
    },
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
