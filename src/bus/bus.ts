/**
 * The in-process event bus. Publishing assigns a monotonic id and keeps the envelope in a ring buffer
 * so late subscribers (SSE clients with Last-Event-ID) can replay what they missed. A subscriber that
 * throws is logged and skipped; it never breaks the publisher.
 *
 * Linked to other gateways (cluster.ts `linkBus`, PostgreSQL only), publishing hands the envelope to the
 * link instead: its id comes from the store's one sequence and it is delivered, here as on every node,
 * when the link hands it back in id order (`link`'s `accept`). Ids then have gaps, so `since` searches.
 */
import type { Envelope, EventDef, Payload } from "../core/event.ts"
import { Log } from "../util/log.ts"

type Handler = (event: Envelope) => void

export interface Bus {
  publish<E extends EventDef>(def: E, data: Payload<E>): Envelope<Payload<E>>
  subscribe<E extends EventDef>(def: E, handler: (event: Envelope<Payload<E>>) => void): () => void
  subscribeAll(handler: Handler): () => void
  once<E extends EventDef>(
    def: E,
    predicate?: (data: Payload<E>) => boolean,
    timeoutMs?: number,
  ): Promise<Envelope<Payload<E>>>
  /** Buffered envelopes with an id greater than `afterId`, oldest first; null if some were already dropped. */
  since(afterId: number): Envelope[] | null
  lastId(): number
  subscribers(): number
  /**
   * Cluster mode (cluster.ts): from now on `publish` gives its envelope (id 0 until numbered) to `send`
   * and delivers nothing itself; `accept` delivers an envelope numbered elsewhere, in id order (one not
   * above the last is dropped). Ids up to `after` are the cluster's from before this node listened: a
   * replay from below it reports a gap; `skip(to)` moves that mark up (notices up to `to` may have been
   * lost: the listening connection dropped). `unlink` returns to numbering and delivering here.
   */
  link(
    send: (event: Envelope) => void,
    after: number,
  ): { accept(event: Envelope): void; skip(to: number): void; unlink(): void }
  /** Whether the bus is linked: a published envelope is delivered later, once it comes back. */
  linked(): boolean
}

export interface BusOptions {
  /** Envelopes kept for replay. */
  history?: number
  /**
   * Approximate bytes of envelopes kept for replay. The count alone did not bound memory: a
   * `tool.call.completed` carries the tool's whole output, so 4,096 of them could hold hundreds of MB.
   */
  historyBytes?: number
  /** Id to continue from (so ids stay monotonic across restarts). */
  startId?: number
}

/** Dropped envelopes at the front of the replay buffer before it is cut (see `ring`). */
const COMPACT_AT = 1024

export function createBus(options: BusOptions = {}): Bus {
  const log = Log.create("bus")
  const size = options.history ?? 4096
  const maxBytes = options.historyBytes ?? 32 * 1024 * 1024
  /**
   * The replay buffer is `ring[head…]`, ids consecutive. Dropped envelopes are cleared and the front is
   * cut off only once `COMPACT_AT` have gone: cutting one entry off the front at every publish moved the
   * whole array (4,096 entries, twice) and was about 3 % of a turn's CPU.
   */
  let ring: (Envelope | undefined)[] = []
  /** approxSize of each envelope in `ring`, same order. */
  let sizes: number[] = []
  let head = 0
  let ringBytes = 0
  let next = (options.startId ?? 0) + 1
  /** The highest id a replay cannot serve: dropped from the ring, or before the first kept. */
  let floor = options.startId ?? 0
  /** Set while linked (cluster.ts): where published envelopes go instead of being numbered here. */
  let linked: ((event: Envelope) => void) | null = null
  const byType = new Map<string, Set<Handler>>()
  const any = new Set<Handler>()
  /**
   * The handlers of `byType` / `any` as arrays, made again only when a subscription changes: publishing
   * delivers to a snapshot (a handler that unsubscribes another mid-delivery does not skip anyone), and
   * copying the set at every publish was an array per event as long as the subscriber list (300 SSE
   * clients × 36,000 events: 86 MB of garbage).
   */
  const typedSnapshots = new Map<string, Handler[]>()
  let anySnapshot: Handler[] | null = null

  const deliver = (handlers: Iterable<Handler>, event: Envelope) => {
    for (const handler of handlers) {
      try {
        handler(event)
      } catch (error) {
        log.error("subscriber failed", { type: event.type, error: String(error) })
      }
    }
  }

  /** Keep `event` for replay and deliver it: every envelope, numbered here or by the link. */
  const accept = (event: Envelope) => {
    const bytes = approxSize(event.data)
    ring.push(event)
    sizes.push(bytes)
    ringBytes += bytes
    // The newest envelope always stays, however large: a replay must at least have the last one.
    while (ring.length - head > 1 && (ring.length - head > size || ringBytes > maxBytes)) {
      ringBytes -= sizes[head]!
      floor = ring[head]!.id
      ring[head++] = undefined
    }
    if (head >= COMPACT_AT && head >= ring.length - head) {
      ring = ring.slice(head)
      sizes = sizes.slice(head)
      head = 0
    }
    const typed = byType.get(event.type)
    if (typed?.size) {
      let handlers = typedSnapshots.get(event.type)
      if (!handlers) {
        handlers = [...typed]
        typedSnapshots.set(event.type, handlers)
      }
      deliver(handlers, event)
    }
    if (any.size) {
      anySnapshot ??= [...any]
      deliver(anySnapshot, event)
    }
  }

  const bus: Bus = {
    publish(def, data) {
      if (linked) {
        const event = { id: 0, type: def.type, time: Date.now(), data }
        linked(event)
        return event
      }
      const event = { id: next++, type: def.type, time: Date.now(), data }
      accept(event)
      return event
    },
    subscribe(def, handler) {
      const set = byType.get(def.type) ?? new Set()
      byType.set(def.type, set)
      set.add(handler as Handler)
      typedSnapshots.delete(def.type)
      return () => {
        typedSnapshots.delete(def.type)
        return set.delete(handler as Handler)
      }
    },
    subscribeAll(handler) {
      any.add(handler)
      anySnapshot = null
      return () => {
        anySnapshot = null
        return any.delete(handler)
      }
    },
    once(def, predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          stop()
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${def.type}`))
        }, timeoutMs)
        const stop = bus.subscribe(def, (event) => {
          if (predicate && !predicate(event.data)) return
          clearTimeout(timer)
          stop()
          resolve(event)
        })
      })
    },
    since(afterId) {
      if (afterId < floor) return null
      const first = ring[head]
      const last = ring[ring.length - 1]
      if (!first || !last || afterId >= last.id) return []
      if (afterId < first.id) return ring.slice(head) as Envelope[]
      // Consecutive ids (one node): the position is arithmetic. Linked, ids have gaps: search.
      if (last.id - first.id === ring.length - 1 - head) return ring.slice(head + afterId - first.id + 1) as Envelope[]
      let lo = head
      let hi = ring.length - 1
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (ring[mid]!.id > afterId) hi = mid
        else lo = mid + 1
      }
      return ring.slice(lo) as Envelope[]
    },
    lastId: () => next - 1,
    linked: () => linked !== null,
    link(send, after) {
      // Two links would each number and deliver the same envelopes.
      if (linked) throw new Error("this bus is already linked")
      linked = send
      const skip = (to: number) => {
        floor = Math.max(floor, to)
        next = Math.max(next, to + 1)
      }
      skip(after)
      return {
        skip,
        accept(event) {
          if (event.id < next) return
          next = event.id + 1
          accept(event)
        },
        unlink() {
          if (linked === send) linked = null
        },
      }
    },
    subscribers: () => any.size + [...byType.values()].reduce((sum, set) => sum + set.size, 0),
  }
  return bus
}

/**
 * Roughly the bytes a payload occupies: string lengths plus a small cost per value and key. Walking is
 * much cheaper than serialising, and exact sizes are not needed to bound the replay buffer.
 */
export function approxSize(value: unknown, depth = 0): number {
  if (typeof value === "string") return value.length + 8
  if (value === null || typeof value !== "object" || depth > 8) return 8
  let total = 16
  if (Array.isArray(value)) for (const item of value) total += approxSize(item, depth + 1)
  else for (const key in value) total += key.length + approxSize((value as Record<string, unknown>)[key], depth + 1)
  return total
}
