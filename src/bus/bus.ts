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
  /** Id to continue from (so ids stay monotonic across restarts). */
  startId?: number
}

export function createBus(options: BusOptions = {}): Bus {
  const log = Log.create("bus")
  const size = options.history ?? 4096
  const ring: Envelope[] = []
  let next = (options.startId ?? 0) + 1
  const byType = new Map<string, Set<Handler>>()
  const any = new Set<Handler>()

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
      ring.push(event)
      if (ring.length > size) ring.splice(0, ring.length - size)
      const typed = byType.get(def.type)
      if (typed) deliver([...typed], event)
      if (any.size) deliver([...any], event)
      return event
    },
    subscribe(def, handler) {
      const set = byType.get(def.type) ?? new Set()
      byType.set(def.type, set)
      set.add(handler as Handler)
      return () => set.delete(handler as Handler)
    },
    subscribeAll(handler) {
      any.add(handler)
      return () => any.delete(handler)
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
      const first = ring[0]
      if (!first) return afterId >= next - 1 ? [] : null
      if (afterId < first.id - 1) return null
      return ring.filter((event) => event.id > afterId)
    },
    lastId: () => next - 1,
    subscribers: () => any.size + [...byType.values()].reduce((sum, set) => sum + set.size, 0),
  }
  return bus
}
