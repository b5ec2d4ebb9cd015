/**
 * Deadlines around one streamed model call, so a hung provider never hangs a turn: `connect` until
 * the response headers, `first-token` until the first streamed event, `idle` between events, and a
 * `total` cap (default 10 minutes: a provider trickling one token every few seconds passes the other
 * three forever). A deadline aborts the underlying request and surfaces as a TimeoutError even if the
 * SDK ignores the abort, because every wait is a race.
 *
 * A connect, first-token or idle deadline missed while our own event loop was blocked (lag.ts) is
 * marked `local`: the failure classifies as `overload`, which never counts against the provider.
 */
import { isLocal, lagProbe } from "./lag.ts"

export type Phase = "connect" | "first-token" | "idle" | "total"

export interface Timeouts {
  connectMs: number
  firstTokenMs: number
  idleMs: number
  totalMs?: number
}

export const DEFAULT_TIMEOUTS: Required<Timeouts> = {
  connectMs: 15_000,
  firstTokenMs: 120_000,
  idleMs: 60_000,
  totalMs: 600_000,
}

const WHAT: Record<Phase, string> = {
  connect: "no response",
  "first-token": "no first token",
  idle: "no data",
  total: "the model call did not finish",
}

export class TimeoutError extends Error {
  /**
   * `blockedMs`: set when our own event loop was blocked for that long while the deadline ran, so the
   * provider may well have answered in time (a local overload).
   */
  constructor(
    readonly phase: Phase,
    readonly ms: number,
    readonly blockedMs?: number,
  ) {
    super(
      `${phase} timeout: ${WHAT[phase]} within ${ms} ms${phase === "total" ? " (the provider profile's timeoutMs)" : ""}${
        blockedMs !== undefined
          ? ` — local overload: this process's event loop was blocked for ${Math.round(blockedMs)} ms of it, so the provider is not blamed`
          : ""
      }`,
    )
    this.name = "TimeoutError"
  }

  get local(): boolean {
    return this.blockedMs !== undefined
  }
}

/**
 * Opens the stream with `open(signal)` and yields its chunks under the deadlines. `onOpen` runs once
 * the headers have arrived (the caller uses it to tell a network failure from a broken stream).
 */
export async function* guarded<T>(
  open: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
  signal: AbortSignal,
  timeouts: Timeouts,
  onOpen?: () => void,
): AsyncGenerator<T> {
  const controller = new AbortController()
  const stop = () => controller.abort(signal.reason)
  signal.addEventListener("abort", stop, { once: true })
  if (signal.aborted) stop()
  const cancelled = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true })
  })
  cancelled.catch(() => {})
  const total = timeouts.totalMs
    ? setTimeout(() => controller.abort(new TimeoutError("total", timeouts.totalMs!)), timeouts.totalMs)
    : null
  const lag = lagProbe()
  const within = async <R>(promise: Promise<R>, phase: Phase, ms: number): Promise<R> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const armed = performance.now()
    const blockedBefore = lag.blockedMs()
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const lateMs = performance.now() - armed - ms
        const blocked = lag.blockedMs() - blockedBefore
        const error = new TimeoutError(phase, ms, isLocal(ms, lateMs, blocked) ? Math.max(lateMs, blocked) : undefined)
        controller.abort(error)
        reject(error)
      }, ms)
    })
    try {
      return await Promise.race([promise, late, cancelled])
    } finally {
      clearTimeout(timer)
    }
  }
  let iterator: AsyncIterator<T> | null = null
  try {
    const stream = await within(open(controller.signal), "connect", timeouts.connectMs)
    onOpen?.()
    iterator = stream[Symbol.asyncIterator]()
    let first = true
    for (;;) {
      const next = await within(
        iterator.next(),
        first ? "first-token" : "idle",
        first ? timeouts.firstTokenMs : timeouts.idleMs,
      )
      if (next.done) return
      first = false
      yield next.value
    }
  } catch (error) {
    // An abort caused by one of our deadlines is reported as that deadline, not as a generic abort.
    const reason: unknown = controller.signal.reason
    if (reason instanceof TimeoutError && !signal.aborted) throw reason
    throw error
  } finally {
    lag.stop()
    if (total) clearTimeout(total)
    signal.removeEventListener("abort", stop)
    if (!controller.signal.aborted) controller.abort("stream finished")
    // Never await: a hung body's return() could hang too.
    iterator?.return?.()?.catch(() => {})
  }
}

export function timeoutsOf(profile: {
  connectTimeoutMs?: number
  firstTokenTimeoutMs?: number
  idleTimeoutMs?: number
  timeoutMs?: number
}): Timeouts {
  return {
    connectMs: profile.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs,
    firstTokenMs: profile.firstTokenTimeoutMs ?? DEFAULT_TIMEOUTS.firstTokenMs,
    idleMs: profile.idleTimeoutMs ?? DEFAULT_TIMEOUTS.idleMs,
    totalMs: profile.timeoutMs ?? DEFAULT_TIMEOUTS.totalMs,
  }
}
