/**
 * Event-loop lag around a deadline. A timer that fires late, or a wait during which our own loop kept
 * being blocked, says nothing about the provider: with thousands of busy observers the loop can starve
 * long enough that a provider answering in milliseconds misses a 15 s connect deadline (seen in the
 * audit: 11 and 19 of 200 turns "connect timeout"). Such a timeout is ours, not the provider's.
 *
 * A probe ticks every TICK_MS while a wait is armed and sums how much later than due each tick ran;
 * that sum is the time the loop could not run our callbacks.
 */

const TICK_MS = 50

/** Blocked time that makes a missed deadline ours: at least this much and at least a quarter of it. */
export const LOCAL_BLOCK_MS = 250
export const LOCAL_BLOCK_SHARE = 0.25

export interface LagProbe {
  /** Milliseconds the loop was blocked since the probe started (ticks and the final reading). */
  blockedMs(): number
  stop(): void
}

export function lagProbe(): LagProbe {
  let last = performance.now()
  let blocked = 0
  const read = () => {
    const now = performance.now()
    blocked += Math.max(0, now - last - TICK_MS)
    last = now
  }
  const timer = setInterval(read, TICK_MS)
  // Never keeps a process alive on its own.
  ;(timer as { unref?: () => void }).unref?.()
  return {
    blockedMs() {
      // Up to now, counting only a full tick's overdue part, as the ticks do.
      const now = performance.now()
      return blocked + Math.max(0, now - last - TICK_MS)
    },
    stop: () => clearInterval(timer),
  }
}

/** Whether a deadline of `ms` that fired `lateMs` late, with `blockedMs` of loop blockage, was ours. */
export function isLocal(ms: number, lateMs: number, blockedMs: number): boolean {
  const threshold = Math.max(LOCAL_BLOCK_MS, ms * LOCAL_BLOCK_SHARE)
  return Math.max(lateMs, blockedMs) >= threshold
}
