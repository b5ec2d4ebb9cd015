/**
 * The update supplier behind @grammyjs/runner. Unlike the runner's built-in fetcher, the offset lives
 * in the store: each fetched batch is written to the inbox together with the next offset before the
 * following getUpdates tells Telegram it was received, and updates a crash left in the inbox are
 * supplied again first. It also
 * - holds the store lease that lets exactly one gateway poll a bot (the contract's Telegram lease, renewed
 *   every third of its time; on a shared store, of any number of gateways one polls). A lease that runs
 *   out before it was renewed (the store unreachable), or that another gateway took, ends the open
 *   getUpdates at once, so two gateways never poll together; updates a crash left in the inbox are
 *   replayed once this poller first holds the lease (on a shared store, by the gateway that polls), and
 *   `onLease` tells the bot each time it takes the lease (it then answers what a crash left owed);
 * - runs the stall watchdog: a getUpdates still open `stallMs` after its long-poll timeout is aborted
 *   and polling restarts;
 * - backs off on network, server and store errors, and reports 401 (bad token), 409 (another poller),
 *   lease conflicts and an unreachable store as health problems, clearing them once polling works again;
 * - never spins: after an empty answer the next getUpdates starts no sooner than `EMPTY_GAP_MS` after
 *   the previous one did. Telegram holds an empty poll for its timeout, so this costs nothing there;
 *   a Bot API that answers at once (emulators such as telegram-test-api ignore `timeout`) would
 *   otherwise be polled thousands of times a second. Updates below the offset (an emulator that
 *   ignores `offset`) are dropped rather than handled twice.
 */
import { hostname } from "node:os"
import type { Api } from "grammy"
import type { Update } from "grammy/types"
import type { UpdateSupplier } from "@grammyjs/runner"
import type { TelegramContract } from "../../store/engine/contract.ts"
import type { TelegramStore } from "../../store/telegram.ts"
import type { Logger } from "../../util/log.ts"
import { alive } from "../../util/process.ts"
import { classify, sleep } from "./api.ts"

type Used = "offset" | "receive" | "pending" | "lease" | "release"
/**
 * What the poller uses of the Telegram store: the contract's (`gw.data.telegram`, either engine), or the
 * synchronous store of src/store/telegram.ts until telegram/bot.ts passes the contract's. Every call is
 * awaited, so the two behave alike here.
 */
export type PollerStore = Pick<TelegramContract, Used> | Pick<TelegramStore, Used>

export interface PollerDeps {
  api: Api
  store: PollerStore
  botId: string
  timeoutSec: number
  stallMs: number
  log: Logger
  /** null clears the problem. */
  health(problem: string | null): void
  /** How long a taken or renewed lease lasts (default LEASE_TTL_MS); renewed every third of it. */
  leaseTtlMs?: number
  /** Called each time this poller takes the lease it did not hold (not on renewals): bot.ts's owed replies. */
  onLease?: () => void
}

export const LEASE_TTL_MS = 30_000
/** Least time between the starts of two polls when the first came back empty: at most 2 polls a second. */
export const EMPTY_GAP_MS = 500
const HOST = hostname()

export const holderId = () => `${HOST}/${process.pid}/${crypto.randomUUID().slice(0, 8)}`

/** A lease holder on this host whose process is gone (kill -9, or a zombie not reaped yet) holds nothing. */
export function holderAlive(holder: string): boolean {
  const [host, pid] = holder.split("/")
  return host !== HOST || alive(Number(pid))
}

/** A store call that failed (told apart from Telegram's failures: its own health message). */
class StoreFailure extends Error {}
const fromStore = async <T>(work: () => T | Promise<T>): Promise<T> => {
  try {
    return await work()
  } catch (error) {
    throw new StoreFailure(error instanceof Error ? error.message : String(error))
  }
}

export function createPoller(deps: PollerDeps) {
  const { api, store, botId, log } = deps
  const ttl = deps.leaseTtlMs ?? LEASE_TTL_MS
  const holder = holderId()
  /** The inbox's left-overs are replayed once, when this poller first holds the lease. */
  let replayed = false
  let failures = 0
  let leased = false
  let closed = false
  let lastPoll = Date.now()
  /** Aborts the open getUpdates when the lease is lost. */
  let current: AbortController | null = null
  /** Ends the lease here when it runs out before a renewal succeeded (this gateway's own clock). */
  let expiry: ReturnType<typeof setTimeout> | undefined
  let renewing: Promise<unknown> | null = null

  const lose = (why: string) => {
    if (!leased) return
    leased = false
    clearTimeout(expiry)
    log.warn(`the polling lease ${why}; polling pauses until this gateway holds it again`, { bot: botId })
    current?.abort(new Error("polling lease lost"))
  }

  /** Take or renew the lease; false when another gateway holds it. Throws StoreFailure. */
  const acquire = async (): Promise<boolean> => {
    const asked = Date.now()
    const result = await fromStore(() => store.lease(botId, holder, ttl, holderAlive))
    if (!result.ok) {
      if (leased || failures === 0)
        log.warn("another gateway holds the polling lease for this bot", { bot: botId, holder: result.holder })
      deps.health(`another gateway (${result.holder}) is polling this bot; this one waits for its lease to expire`)
      lose("was taken by another gateway")
      return false
    }
    if (closed) {
      await fromStore(() => store.release(botId, holder))
      return false
    }
    const taken = !leased
    leased = true
    if (taken) deps.onLease?.()
    // Counted from before the call, so this gateway stops no later than the store lets another take over.
    clearTimeout(expiry)
    expiry = setTimeout(() => lose("ran out before it could be renewed"), asked + ttl - Date.now())
    expiry.unref?.()
    return true
  }
  const renew = setInterval(() => {
    if (!leased || renewing) return
    renewing = acquire()
      .catch((error) => log.warn("renewing the polling lease failed", { bot: botId, error: String(error) }))
      .finally(() => {
        renewing = null
      })
  }, ttl / 3)
  renew.unref?.()

  /** 250 ms, doubling up to 30 s. */
  const backoff = () => Math.min(30_000, 250 * 2 ** Math.min(failures - 1, 7))

  const supplier: UpdateSupplier<Update> = {
    async supply(batchSize, polyfilled) {
      // grammY types signals with the abort-controller polyfill; at runtime it is the platform's.
      const signal = polyfilled as unknown as AbortSignal
      while (!signal.aborted) {
        const stall = new AbortController()
        const lost = new AbortController()
        let watchdog: ReturnType<typeof setTimeout> | undefined
        let empty = false
        try {
          if (!leased && !(await acquire())) {
            failures++
            await sleep(Math.min(5000, ttl / 3), signal)
            continue
          }
          if (!replayed) {
            const pending = (await fromStore(() => store.pending(botId))) as Update[]
            replayed = true
            if (pending.length) {
              log.info("replaying updates a previous run received but did not finish", {
                bot: botId,
                count: pending.length,
              })
              return pending
            }
          }
          current = lost
          if (!leased) continue
          watchdog = setTimeout(() => stall.abort(new Error("stalled")), deps.timeoutSec * 1000 + deps.stallMs)
          lastPoll = Date.now()
          const offset = await fromStore(() => store.offset(botId))
          const answered = await api.getUpdates(
            {
              offset,
              limit: Math.max(1, Math.min(batchSize, 100)),
              timeout: deps.timeoutSec,
              // callback_query: approval buttons (approvals.ts).
              allowed_updates: ["message", "callback_query"],
            },
            AbortSignal.any([signal, stall.signal, lost.signal]) as unknown as typeof polyfilled,
          )
          if (failures > 0) log.info("polling recovered", { bot: botId, after: failures })
          failures = 0
          deps.health(null)
          const updates = offset > 0 ? answered.filter((update) => update.update_id >= offset) : answered
          if (updates.length) {
            // Not stored, not acknowledged: the next getUpdates (here or on the gateway that polls) gets them again.
            await fromStore(() => store.receive(botId, updates))
            return updates
          }
          empty = true
        } catch (error) {
          if (signal.aborted) throw error
          // The lease was lost: the loop asks for it again (and waits while another gateway holds it).
          if (lost.signal.aborted) continue
          failures++
          if (stall.signal.aborted) {
            log.warn("getUpdates stalled; restarting polling", { bot: botId, openMs: Date.now() - lastPoll })
            continue
          }
          if (error instanceof StoreFailure) {
            const wait = backoff()
            deps.health(`cannot reach the store (${error.message}); retrying`)
            log.warn("the store failed while polling", { bot: botId, error: error.message, retryInMs: wait })
            await sleep(wait, signal)
            continue
          }
          const failure = classify(error)
          const wait = failure.kind === "unauthorized" ? 60_000 : backoff()
          if (failure.kind === "unauthorized")
            deps.health(`invalid bot token (Telegram answered ${failure.message}); fix the token and restart`)
          else if (failure.kind === "conflict")
            deps.health(
              `409 Conflict: another program is polling this bot or a webhook is set (${failure.message}); stop it or run "deleteWebhook"`,
            )
          else if (failures >= 3) deps.health(`cannot reach Telegram (${failure.message}); retrying`)
          log.warn("getUpdates failed", { bot: botId, kind: failure.kind, error: failure.message, retryInMs: wait })
          await sleep(wait, signal)
        } finally {
          clearTimeout(watchdog)
          if (current === lost) current = null
        }
        // Outside the try: an abort during this pause ends the loop instead of counting as a failure.
        if (empty) await sleep(Math.max(0, lastPoll + EMPTY_GAP_MS - Date.now()), signal)
      }
      return []
    },
  }

  return {
    supplier,
    /** Whether this poller holds the lease now (it is the gateway that polls the bot). */
    holds: () => leased,
    /** Stop renewing and give the lease up (after a renewal under way); never rejects. */
    async close() {
      closed = true
      clearInterval(renew)
      clearTimeout(expiry)
      const had = leased
      leased = false
      current?.abort(new Error("poller closed"))
      await renewing
      if (had)
        await fromStore(() => store.release(botId, holder)).catch((error) =>
          log.warn("releasing the polling lease failed", { bot: botId, error: String(error) }),
        )
    },
  }
}
