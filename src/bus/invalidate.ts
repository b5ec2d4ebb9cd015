/**
 * Cache invalidation between the gateways on one store (issue 22 item 3): a node that wrote something
 * other nodes may hold in a cache (a session's history) says so, and each other node drops its copy.
 * The notice names a kind and a key ("session.history", the session id); the writer's own handlers are
 * not called (it updated its cache as it wrote). When the listening connection comes back after a drop,
 * notices sent meanwhile are lost, so every handler is called with `null`: drop everything of the kind.
 * On SQLite the handles of this process hear each other (one gateway: nobody else to tell).
 */
import { Invalid } from "../core/error.ts"
import type { Store } from "../store/engine/contract.ts"
import { Log } from "../util/log.ts"

const log = Log.create("bus")

/** A session's stored history changed: its cached messages are stale. Key: the session id. */
export const SessionHistory = "session.history"

export interface Invalidations {
  /** Tell every other node that `key` of `kind` changed here. */
  drop(kind: string, key: string): Promise<void>
  /** Call `handler` with the key when another node drops one of `kind`, with null when some may be lost. */
  on(kind: string, handler: (key: string | null) => void): () => void
  close(): Promise<void>
}

export async function invalidations(
  store: Pick<Store, "notices">,
  options: { node: string; channel?: string },
): Promise<Invalidations> {
  const channel = options.channel ?? "drost.invalidate"
  const tag = `${options.node.replace(/\s/g, "_")}#${crypto.randomUUID().slice(0, 8)}`
  const handlers = new Map<string, Set<(key: string | null) => void>>()
  let listens = 0
  const call = (kind: string, key: string | null) => {
    for (const handler of [...(handlers.get(kind) ?? [])])
      try {
        handler(key)
      } catch (error) {
        log.error("an invalidation handler failed", { kind, error: String(error) })
      }
  }
  const subscription = await store.notices.listen(
    channel,
    (payload) => {
      const [from, kind, key] = payload.split("\n")
      if (from !== tag && kind !== undefined && key !== undefined) call(kind, key)
    },
    () => {
      if (++listens > 1) for (const kind of [...handlers.keys()]) call(kind, null)
    },
  )
  return {
    async drop(kind, key) {
      if (kind.includes("\n") || key.includes("\n")) throw new Invalid("a kind and a key are one line each", { kind })
      await store.notices.notify(channel, `${tag}\n${kind}\n${key}`)
    },
    on(kind, handler) {
      const set = handlers.get(kind) ?? new Set()
      handlers.set(kind, set)
      set.add(handler)
      return () => {
        set.delete(handler)
      }
    },
    async close() {
      handlers.clear()
      await subscription.unlisten()
    },
  }
}
