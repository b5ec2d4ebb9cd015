/**
 * The update supplier behind @grammyjs/runner. Unlike the runner's built-in fetcher, the offset lives
 * in the store: each fetched batch is written to the inbox together with the next offset before the
 * following getUpdates tells Telegram it was received, and updates a crash left in the inbox are
 * supplied again first. It also
 * - holds the store lease that lets exactly one gateway poll a bot (renewed while polling);
 * - runs the stall watchdog: a getUpdates still open `stallMs` after its long-poll timeout is aborted
 *   and polling restarts;
 * - backs off on network and server errors, and reports 401 (bad token), 409 (another poller) and
 *   lease conflicts as health problems, clearing them once polling works again;
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
import type { TelegramStore } from "../../store/telegram.ts"
import type { Logger } from "../../util/log.ts"
import { alive } from "../../util/process.ts"
import { classify, sleep } from "./api.ts"

export interface PollerDeps {
  api: Api
  store: TelegramStore
  botId: string
  timeoutSec: number
  stallMs: number
  log: Logger
  /** null clears the problem. */
  health(problem: string | null): void
}

const LEASE_TTL_MS = 30_000
/** Least time between the starts of two polls when the first came back empty: at most 2 polls a second. */
export const EMPTY_GAP_MS = 500
const HOST = hostname()

export const holderId = () => `${HOST}/${process.pid}/${crypto.randomUUID().slice(0, 8)}`

/** A lease holder on this host whose process is gone (kill -9, or a zombie not reaped yet) holds nothing. */
export function holderAlive(holder: string): boolean {
  const [host, pid] = holder.split("/")
  return host !== HOST || alive(Number(pid))
}

export function createPoller(deps: PollerDeps) {
  const { api, store, botId, log } = deps
  const holder = holderId()
  let replay: Update[] | null = store.pending(botId) as Update[]
  let failures = 0
  let leased = false
  let lastPoll = Date.now()

  const acquire = (): boolean => {
    const result = store.lease(botId, holder, LEASE_TTL_MS, holderAlive)
    if (!result.ok) {
      if (leased || failures === 0)
        log.warn("another gateway holds the polling lease for this bot", { bot: botId, holder: result.holder })
      deps.health(`another gateway (${result.holder}) is polling this bot; this one waits for its lease to expire`)
      leased = false
      return false
    }
    leased = true
    return true
  }
  const renew = setInterval(() => {
    if (leased) acquire()
  }, LEASE_TTL_MS / 3)
  renew.unref?.()

  /** 250 ms, doubling up to 30 s. */
  const backoff = () => Math.min(30_000, 250 * 2 ** Math.min(failures - 1, 7))

  const supplier: UpdateSupplier<Update> = {
    async supply(batchSize, polyfilled) {
      // grammY types signals with the abort-controller polyfill; at runtime it is the platform's.
      const signal = polyfilled as unknown as AbortSignal
      if (replay) {
        const pending = replay
        replay = null
        if (pending.length) {
          log.info("replaying updates a previous run received but did not finish", {
            bot: botId,
            count: pending.length,
          })
          return pending
        }
      }
      while (!signal.aborted) {
        if (!leased && !acquire()) {
          failures++
          await sleep(5000, signal)
          continue
        }
        const stall = new AbortController()
        const watchdog = setTimeout(() => stall.abort(new Error("stalled")), deps.timeoutSec * 1000 + deps.stallMs)
        lastPoll = Date.now()
        const offset = store.offset(botId)
        let empty = false
        try {
          const answered = await api.getUpdates(
            {
              offset,
              limit: Math.max(1, Math.min(batchSize, 100)),
              timeout: deps.timeoutSec,
              // callback_query: approval buttons (approvals.ts).
              allowed_updates: ["message", "callback_query"],
            },
            AbortSignal.any([signal, stall.signal]) as unknown as typeof polyfilled,
          )
          if (failures > 0) log.info("polling recovered", { bot: botId, after: failures })
          failures = 0
          deps.health(null)
          const updates = offset > 0 ? answered.filter((update) => update.update_id >= offset) : answered
          if (updates.length) {
            store.receive(botId, updates)
            return updates
          }
          empty = true
        } catch (error) {
          if (signal.aborted) throw error
          failures++
          if (stall.signal.aborted) {
            log.warn("getUpdates stalled; restarting polling", { bot: botId, openMs: Date.now() - lastPoll })
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
        }
        // Outside the try: an abort during this pause ends the loop instead of counting as a failure.
        if (empty) await sleep(lastPoll + EMPTY_GAP_MS - Date.now(), signal)
      }
      return []
    },
  }

  return {
    supplier,
    close() {
      clearInterval(renew)
      if (leased) store.release(botId, holder)
      leased = false
    },
  }
}
