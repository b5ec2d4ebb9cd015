/**
 * Per-conversation pacing of outgoing messages and edits, for every channel (ChannelLimits.editIntervalMs).
 * Platforms allow a few writes per conversation per second at most (Telegram about one a second, Discord
 * five per five seconds a channel, Slack about one a second); bursts earn 429s and, repeated, bans. So
 * every send and edit of a conversation takes the next free slot, at least `intervalMs` after the
 * previous call *completed*: measured from the completion, a slow or delayed previous request can never
 * put two arrivals closer than that.
 */
export interface Pacer {
  /** Run one send or edit in the next free slot. */
  run<T>(call: () => Promise<T>): Promise<T>
  /** Milliseconds until a slot would be free now. */
  readyIn(): number
  /** A call is being retried `ms` from now (429): the next slot comes one interval after it. */
  defer(ms: number): void
}

export function createPacer(intervalMs: number): Pacer {
  let last = Number.NEGATIVE_INFINITY
  const slot = async () => {
    const now = Date.now()
    const at = Math.max(now, last + intervalMs)
    last = at
    if (at > now) await Bun.sleep(at - now)
  }
  return {
    async run(call) {
      await slot()
      try {
        return await call()
      } finally {
        last = Math.max(last, Date.now())
      }
    },
    readyIn: () => Math.max(0, last + intervalMs - Date.now()),
    defer(ms) {
      last = Math.max(last, Date.now() + ms)
    },
  }
}

/** One pacer per conversation, created on first use. */
export function createPacers<Key extends string | number = string | number>(intervalMs: number) {
  const pacers = new Map<Key, Pacer>()
  return (conversation: Key): Pacer => {
    let pacer = pacers.get(conversation)
    if (!pacer) {
      pacer = createPacer(intervalMs)
      pacers.set(conversation, pacer)
    }
    return pacer
  }
}
