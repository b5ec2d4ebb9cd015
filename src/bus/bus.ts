/**
 * The in-process event bus. Publishing assigns a monotonic id and keeps the envelope in a ring buffer
 * so late subscribers (SSE clients with Last-Event-ID) can replay what they missed. A subscriber that
 * throws is logged and skipped; it never breaks the publisher.
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

  const bus: Bus = {
    publish(def, data) {
      const event = { id: next++, type: def.type, time: Date.now(), data }
      const bytes = approxSize(data)
      ring.push(event)
      sizes.push(bytes)
      ringBytes += bytes
      // The newest envelope always stays, however large: a replay must at least have the last one.
      while (ring.length - head > 1 && (ring.length - head > size || ringBytes > maxBytes)) {
        ringBytes -= sizes[head]!
        ring[head++] = undefined
      }
      if (head >= COMPACT_AT && head >= ring.length - head) {
        ring = ring.slice(head)
        sizes = sizes.slice(head)
        head = 0
      }
      const typed = byType.get(def.type)
      if (typed?.size) {
        let handlers = typedSnapshots.get(def.type)
        if (!handlers) {
          handlers = [...typed]
          typedSnapshots.set(def.type, handlers)
        }
        deliver(handlers, event)
      }
      if (any.size) {
        anySnapshot ??= [...any]
        deliver(anySnapshot, event)
      }
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
      const first = ring[head]
      if (!first) return afterId >= next - 1 ? [] : null
      if (afterId < first.id - 1) return null
      return ring.slice(head + Math.min(afterId - first.id + 1, ring.length - head)) as Envelope[]
    },
    lastId: () => next - 1,
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
