/**
 * The bus's cluster link (issue 22 item 3): several gateways on one PostgreSQL store share one event
 * stream. Every node's subscribers see every node's events, and an SSE client that reconnects to any node
 * with Last-Event-ID gets exactly what it missed, because every node's replay ring holds the same events
 * in the same order: ids ascending, from the store's one sequence.
 *
 * How the order is made. Publishing stays synchronous for the caller, but the envelope goes into an
 * outbox instead of to the subscribers. Once per tick (a microtask after the first publish) the outbox
 * is sent as one `events.announce(channel, bodies)`: one transaction that reserves consecutive ids for
 * the batch and NOTIFYs the bodies with them. The sequence's row stays locked until that transaction
 * commits, so announcements commit in id order, and PostgreSQL delivers notifications in commit order:
 * every listener hears every node's ids ascending, with nothing lower still to come. Each node, the
 * publisher included, delivers an event when its notice arrives, so local and remote events go through
 * one ordered path. One announcement is in flight per node at a time; what is published meanwhile is
 * the next batch, so batches grow with load instead of round trips. A body over the notice limit (a
 * tool's whole output) is stored by the store and read back in its place (`events.listen`).
 *
 * Rejected: ranges reserved per node (A's 1..1000 beside B's 1001..2000 breaks "replay ids > X"); ids
 * reserved first and notified in a second step, merged with a reorder hold (a lower id can commit after
 * a higher one, so no hold is long enough to be exact, and every event would wait the hold); a round
 * trip per event before `publish` returns (publish is synchronous).
 *
 * The cost: in cluster mode a subscriber on the publishing node hears its own event one announcement
 * plus one notification later, as the other nodes do (bench/bus-cluster.ts on loopback: p50 about
 * 0.4 ms, p99 3-39 ms with the machine's load; docs/scale-out.md), and `publish` returns the
 * envelope with id 0, numbered when it is delivered. Events announced while this node's listening
 * connection was down (it reconnects) are not heard here, its own among them: they are missing from
 * its ring and a replay from before the reconnection reports a gap. Single node (SQLite) never links:
 * the bus publishes and delivers synchronously as before.
 */
import type { Envelope } from "../core/event.ts"
import type { Store } from "../store/engine/contract.ts"
import { Log } from "../util/log.ts"
import type { Bus } from "./bus.ts"

export interface LinkOptions {
  /** This gateway's name (its registry id), in logs; made unique per link, so a restart is a new node. */
  node: string
  /** The notice channel the nodes share (default "drost.bus"). */
  channel?: string
  /** Events per announcement at most (default 500). */
  maxBatch?: number
}

export interface BusLink {
  readonly node: string
  /** The first id of the cluster this node hears (a replay from below it reports a gap). */
  readonly from: number
  /** Send what is still in the outbox, wait (at most `ms`) for its notices, stop listening, unlink. */
  close(ms?: number): Promise<void>
}

/** Link `bus` to every other bus linked on the same store. Resolves once this node listens. */
export async function linkBus(
  bus: Bus,
  store: Pick<Store, "events" | "notices">,
  options: LinkOptions,
): Promise<BusLink> {
  const log = Log.create("bus")
  const channel = options.channel ?? "drost.bus"
  const maxBatch = options.maxBatch ?? 500
  // Every body this node sends starts with "<tag>:<n> ": its own events come back recognised (by n, in
  // order) without parsing.
  const tag = `${options.node.replace(/[\s:]/g, "_")}#${crypto.randomUUID().slice(0, 8)}`
  const mine = `${tag}:`
  let sequence = 0
  /** Published here, not yet announced. */
  let outbox: Envelope[] = []
  /** Announced (or being announced) from here, not yet heard back, in the order they will come back. */
  const awaiting: { n: number; event: Envelope }[] = []
  let sending: Promise<void> | null = null
  let closed = false
  let listens = 0
  let linked: ReturnType<Bus["link"]> | null = null
  /** Heard before the bus was linked (between listening and the reservation): delivered once it is. */
  const early: { id: number; body: string }[] = []

  const handle = (link: ReturnType<Bus["link"]>, id: number, body: string) => {
    const space = body.indexOf(" ")
    if (body.startsWith(mine)) {
      const n = Number(body.slice(mine.length, space))
      // Ours whose notice never came (the listener reconnected meanwhile): delivered nowhere.
      while (awaiting.length && awaiting[0]!.n < n) {
        const { event } = awaiting.shift()!
        log.warn("an own event's notice was lost; it is delivered nowhere", { type: event.type })
      }
      // Not awaited: a second copy (an announcement retried after it had committed); already delivered.
      if (awaiting[0]?.n !== n) return
      const { event } = awaiting.shift()!
      event.id = id
      link.accept(event)
      return
    }
    let parsed: { type: string; time: number; data: unknown }
    try {
      parsed = JSON.parse(body.slice(space + 1))
    } catch (error) {
      log.error("an announced event is not JSON; skipped", { id, error: String(error) })
      return
    }
    link.accept({ id, type: parsed.type, time: parsed.time, data: parsed.data })
  }
  const onEvents = (events: { id: number; body: string }[]) => {
    if (!linked) early.push(...events)
    else for (const { id, body } of events) handle(linked, id, body)
  }

  const announce = async () => {
    while (outbox.length && !closed) {
      const batch = outbox.length > maxBatch ? outbox.splice(0, maxBatch) : outbox
      if (batch === outbox) outbox = []
      const bodies: string[] = []
      const sent: { n: number; event: Envelope }[] = []
      for (const event of batch) {
        let json: string
        try {
          json = JSON.stringify({ type: event.type, time: event.time, data: event.data })
        } catch (error) {
          log.error("an event that is not JSON cannot leave this node; dropped", {
            type: event.type,
            error: String(error),
          })
          continue
        }
        const n = ++sequence
        bodies.push(`${mine}${n} ${json}`)
        sent.push({ n, event })
      }
      awaiting.push(...sent)
      for (let backoff = 50; ; backoff = Math.min(backoff * 2, 1000)) {
        try {
          await store.events.announce(channel, bodies)
          break
        } catch (error) {
          // A dropped connection leaves it unknown whether it committed; a second copy is recognised
          // by its numbers and skipped.
          if (closed) return
          log.warn("announcing events failed; retrying", { events: sent.length, error: String(error) })
          await Bun.sleep(backoff)
        }
      }
    }
  }
  const schedule = () => {
    if (sending || closed || !outbox.length) return
    // A microtask: every event published in the same tick goes in one announcement.
    sending = Promise.resolve()
      .then(announce)
      .finally(() => {
        sending = null
        schedule()
      })
  }
  const send = (event: Envelope) => {
    outbox.push(event)
    schedule()
  }

  const subscription = await store.events.listen(channel, onEvents, () => {
    if (++listens === 1) return
    // Listening again: everything above a fresh reservation is heard; what was announced while the
    // connection was down is not, so a replay from before that id reports a gap instead of missing it.
    log.warn("the bus's listening connection came back; events announced meanwhile are lost here")
    store.events.reserve().then(
      (to) => linked?.skip(to),
      (error) => log.error("no id to mark the gap after a reconnection", { error: String(error) }),
    )
  })
  // Listening first, then a reservation: every id above it is heard here. Above every id of this bus too
  // (its start came from its own clock), so ids never go backwards here.
  let from = await store.events.reserve()
  if (from <= bus.lastId()) {
    const count = bus.lastId() - from + 1
    from = (await store.events.reserve(count)) + count - 1
  }
  let link: ReturnType<Bus["link"]>
  try {
    link = bus.link(send, from)
  } catch (error) {
    await subscription.unlisten()
    throw error
  }
  linked = link
  onEvents(early.splice(0))

  return {
    node: tag,
    from,
    async close(ms = 2000) {
      const deadline = Date.now() + ms
      while ((sending || outbox.length || awaiting.length) && Date.now() < deadline) await Bun.sleep(2)
      closed = true
      await subscription.unlisten()
      link.unlink()
      linked = null
      // Published here and never heard back: delivered here at least, numbered after the last.
      for (const event of [...awaiting.splice(0).map((item) => item.event), ...outbox.splice(0)]) {
        log.warn("an event was not announced before the link closed; delivered on this node only", {
          type: event.type,
        })
        event.id = bus.lastId() + 1
        link.accept(event)
      }
    },
  }
}
