/**
 * The lease that lets one gateway of those sharing a store hold a Discord bot's Gateway connection (as
 * Telegram's polling lease lets one poll): every node connecting with the same token would each get
 * every dispatch and overwrite each other's stored Gateway session, and a restarting node would RESUME
 * another node's live session. The store contract's generic lease (`leases`, key `channel:discord:<bot>`,
 * owner the gateway's registry id) is taken before connecting, asked for again every `askMs` while
 * another gateway holds it, and renewed every third of its time. A holder that is gone (registry:
 * no heartbeat for `staleMs`, or its pid dead on this host) is taken over at once, so `ttlMs` and
 * `staleMs` are the registry's stale limit. `onLost` tells the channel when the lease is no longer this
 * node's: a renewal answered false (taken over: this node was judged gone) or none succeeded within the
 * lease's time (by this node's clock, before another node may take it).
 */
import type { SessionLeasesContract } from "../../store/engine/contract.ts"
import type { Logger } from "../../util/log.ts"

/** How often a waiting node asks for the lease again. */
export const ASK_MS = 1000

export interface ConnectionLeaseDeps {
  leases: SessionLeasesContract
  key: string
  owner: string
  ttlMs: number
  log: Logger
  /** Waits `ms` or until the channel stops, whichever comes first. */
  pause: (ms: number) => Promise<void>
  stopped: () => boolean
  /** Another gateway holds the lease (told once per holder while waiting). */
  onStandby: (holder: string) => void
  onLost: (why: string) => void
  askMs?: number
}

export type ConnectionLease = ReturnType<typeof createConnectionLease>

export function createConnectionLease(deps: ConnectionLeaseDeps) {
  const { leases, key, owner, ttlMs, log } = deps
  let held = false
  /** When the last successful take or renewal was asked (the lease runs from then, at the earliest). */
  let since = 0
  let renewing = false
  let timer: ReturnType<typeof setInterval> | null = null

  const lose = (why: string) => {
    if (!held) return
    held = false
    if (timer) clearInterval(timer)
    timer = null
    deps.onLost(why)
  }

  const renew = async () => {
    // Past its time another node may hold it: this one lets go even while a renewal is still unanswered.
    if (held && Date.now() - since >= ttlMs) return lose("could not be renewed within its time")
    if (!held || renewing) return
    renewing = true
    const asked = Date.now()
    try {
      const ok = await leases.renew(key, owner, ttlMs)
      if (!held) return
      if (ok) since = asked
      else lose("was taken over by another gateway (this one was judged gone)")
    } catch (error) {
      log.warn("renewing the Discord connection lease failed", { key, error: String(error) })
      if (held && Date.now() - since >= ttlMs) lose("could not be renewed within its time")
    } finally {
      renewing = false
    }
  }

  return {
    /** Resolves true once this node holds the lease, false when the channel stopped first. */
    async take(): Promise<boolean> {
      let told: string | null = null
      let failing = false
      while (!deps.stopped()) {
        const asked = Date.now()
        try {
          const result = await leases.acquire(key, owner, ttlMs, { staleMs: ttlMs })
          failing = false
          if (result.ok && !deps.stopped()) {
            held = true
            since = asked
            timer = setInterval(() => void renew(), Math.max(1, Math.floor(ttlMs / 3)))
            timer.unref?.()
            return true
          }
          if (!result.ok && result.holder !== told) {
            told = result.holder
            deps.onStandby(result.holder)
          }
        } catch (error) {
          if (!failing) log.warn("asking for the Discord connection lease failed", { key, error: String(error) })
          failing = true
        }
        await deps.pause(deps.askMs ?? ASK_MS)
      }
      return false
    },
    /** Held, and by this node's clock not past its time (a process frozen and woken knows before its timer). */
    holds: () => held && Date.now() - since < ttlMs,
    /** Give the lease up (at stop); a failure is logged, the lease then runs out by itself. */
    async release(): Promise<void> {
      const had = held
      held = false
      if (timer) clearInterval(timer)
      timer = null
      if (!had) return
      await leases
        .release(key, owner)
        .catch((error) => log.warn("releasing the Discord connection lease failed", { key, error: String(error) }))
    },
  }
}
