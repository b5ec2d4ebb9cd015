/**
 * The order a provider reads a session in. Messages are stored as they arrive, so a message sent while a
 * turn runs gets a lower seq than that turn's answer. Read in seq order, the model would see the answer
 * after the newer question. So the view groups messages by turn, turns in the order they were created,
 * each turn's messages in seq order; a running turn sees only the turns created before it, plus the
 * messages collected into it (orchestration `collect`), not the ones still waiting for their own turn.
 */
import type { Message } from "../core/message.ts"

export interface CurrentTurn {
  turnId: string
  /** Turns whose messages were collected into this one. */
  merged?: string[]
}

export function ordered(messages: Message[], current?: CurrentTurn): Message[] {
  const first = new Map<string, number>()
  for (const message of messages)
    if (message.turnId && !first.has(message.turnId)) first.set(message.turnId, message.seq)
  const merged = new Set(current?.merged ?? [])
  const cutoff = current ? (first.get(current.turnId) ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY
  const key = (message: Message): number => {
    if (!message.turnId) return message.seq
    if (merged.has(message.turnId)) return cutoff
    return first.get(message.turnId)!
  }
  return messages
    .filter((message) => !message.turnId || merged.has(message.turnId) || first.get(message.turnId)! <= cutoff)
    .map((message) => ({ message, key: key(message) }))
    .sort((a, b) => a.key - b.key || a.message.seq - b.message.seq)
    .map((entry) => entry.message)
}
