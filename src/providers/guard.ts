/**
 * Deadlines around one streamed model call, so a hung provider never hangs a turn: `connect` until
 * the response headers, `first-token` until the first streamed event, `idle` between events, and an
 * optional `total` cap. A deadline aborts the underlying request and surfaces as a TimeoutError even
 * if the SDK ignores the abort, because every wait is a race.
 */

export type Phase = "connect" | "first-token" | "idle" | "total"

export interface Timeouts {
  connectMs: number
  firstTokenMs: number
  idleMs: number
  totalMs?: number
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, firstTokenMs: 120_000, idleMs: 60_000 }

export class TimeoutError extends Error {
  constructor(
    readonly phase: Phase,
    readonly ms: number,
  ) {
    super(
      `${phase} timeout: no ${phase === "connect" ? "response" : phase === "first-token" ? "first token" : phase === "idle" ? "data" : "end of stream"} within ${ms} ms`,
    )
    this.name = "TimeoutError"
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
  const within = async <R>(promise: Promise<R>, phase: Phase, ms: number): Promise<R> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TimeoutError(phase, ms)
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
    totalMs: profile.timeoutMs,
  }
}
