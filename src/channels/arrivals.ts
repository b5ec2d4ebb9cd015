/**
 * The order in which a channel's events are handed on, now that the inbox's writes are awaited (on
 * PostgreSQL two writes may finish in either order): each received event after the ones received before
 * it, and what a previous run left (`replay`) in its place among them. An event both left over and
 * received again while the replay read the inbox (its row stored by then) is handed on once.
 */
export interface Arrivals<T> {
  /** Hand `event` on once `stored` (the inbox's `receive`) says it is new; resolves to that answer. */
  receive(id: string, stored: Promise<boolean>, event: T): Promise<boolean>
  /** Hand on what the inbox's `pending` read: events a previous run received and did not finish. */
  replay(pending: Promise<{ id: string; event: T }[]>): Promise<number>
}

export function createArrivals<T>(handOn: (event: T) => void): Arrivals<T> {
  let chain: Promise<unknown> = Promise.resolve()
  /** Ids the replay handed on; a receive that finds its id here was already handled. Bounded by one replay. */
  const replayed = new Set<string>()
  /** Ids handed on by receive before a replay ran (null after it): the replay skips them. */
  let early: Set<string> | null = new Set()
  const after = <R>(step: () => Promise<R>): Promise<R> => {
    const next = chain.then(step)
    chain = next.catch(() => {})
    return next
  }
  return {
    receive: (id, stored, event) =>
      after(async () => {
        const fresh = await stored
        if (!fresh || replayed.has(id)) return fresh
        early?.add(id)
        handOn(event)
        return fresh
      }),
    replay: (pending) =>
      after(async () => {
        try {
          const left = await pending
          for (const entry of left) {
            if (early?.has(entry.id)) continue
            replayed.add(entry.id)
            handOn(entry.event)
          }
          return left.length
        } finally {
          early = null
        }
      }),
  }
}
