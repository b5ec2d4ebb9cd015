/**
 * A session's lease around each of its turns (issue 22 item 3): with several gateways on one store, the
 * lanes of one gateway keep a session's turns one at a time only there, so a turn takes the store's
 * lease of its session before it starts, renews it while it runs and gives it up when it ends. A turn
 * whose session another gateway holds stays queued until the lease is free (released, expired, or held
 * by a gateway the registry finds gone: killed on this host, or silent for `staleMs`).
 *
 * Only while the store is shared (`shared()`: PostgreSQL, or another gateway registered on the SQLite
 * file): a gateway alone on its database takes no lease, which would cost it two commits per turn for
 * nothing. A turn that started while its gateway was alone holds no lease, so for the length of that
 * turn a gateway that has just started may run one of the same session (docs/scale-out.md).
 *
 * After taking the lease, the session's cached history is dropped (`forget`): the last turn may have
 * run on another gateway, whose messages this gateway's cache does not have.
 */
import type { SessionLeasesContract } from "../store/engine/contract.ts"
import type { Logger } from "../util/log.ts"

export interface HeldLease {
  /** Aborts when the lease was lost while the turn ran (a peer judged this gateway gone and took it). */
  lost: AbortSignal
  release(): Promise<void>
}

export interface TurnLeases {
  /** Null when no lease is needed (the store is not shared); waits while another gateway holds it. */
  hold(sessionId: string, signal: AbortSignal): Promise<HeldLease | null>
}

export interface TurnLeaseDeps {
  leases: SessionLeasesContract
  /** This gateway's registry id: the holder. */
  owner: string
  /** How long a lease lasts without renewal; renewed every third of it. */
  ttlMs: number
  /** A holder silent in the registry this long is gone and its lease is taken over. */
  staleMs: number
  shared: () => boolean | Promise<boolean>
  forget: (sessionId: string) => Promise<void>
  log: Logger
}

/** The longest a waiting turn sleeps before asking for the lease again. */
const POLL_MS = 100

export function createTurnLeases(deps: TurnLeaseDeps): TurnLeases {
  const { leases, owner, ttlMs } = deps
  return {
    async hold(sessionId, signal) {
      if (!(await deps.shared())) return null
      for (let waited = false; ; waited = true) {
        signal.throwIfAborted()
        const result = await leases.acquire(sessionId, owner, ttlMs, { staleMs: deps.staleMs })
        if (result.ok) {
          if (waited) deps.log.debug("took the session's lease after waiting", { sessionId })
          await deps.forget(sessionId)
          return held(sessionId)
        }
        // Held elsewhere: ask again soon (it is released at that turn's end), never later than its expiry.
        const wait = Math.max(5, Math.min(POLL_MS, result.until - Date.now()))
        await sleep(wait + Math.random() * 20, signal)
      }
    },
  }

  function held(sessionId: string): HeldLease {
    const lost = new AbortController()
    const renew = setInterval(() => {
      leases.renew(sessionId, owner, ttlMs).then(
        (kept) => {
          if (kept || lost.signal.aborted) return
          deps.log.warn("this gateway lost a session's lease while its turn ran", { sessionId })
          lost.abort("interrupted: another gateway took over this session (this one was judged gone)")
        },
        (error) => deps.log.warn("renewing a session's lease failed", { sessionId, error: String(error) }),
      )
    }, ttlMs / 3)
    renew.unref?.()
    return {
      lost: lost.signal,
      async release() {
        clearInterval(renew)
        await leases.release(sessionId, owner).catch((error) => {
          // It expires by itself; until then the session waits on other gateways.
          deps.log.warn("releasing a session's lease failed", { sessionId, error: String(error) })
        })
      },
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done() {
      signal.removeEventListener("abort", stop)
      resolve()
    }
    function stop() {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener("abort", stop, { once: true })
  })
}
