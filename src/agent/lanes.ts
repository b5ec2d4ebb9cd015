/**
 * One lane per session: the turns waiting behind the running one, and the policy for a message that
 * arrives while the session is busy (orchestration): `queue` runs it after the current turn, `interrupt`
 * aborts the current turn (and supersedes anything waiting) so it runs next, `collect` gathers every
 * message into one turn that starts once the session is free and no message came for `debounceMs`.
 * A cap (`maxQueue`) bounds the waiting turns; the drop policy picks what gives way. Every message is
 * stored before any of this decides anything, and a turn that does not run ends `failed` with the reason.
 */
import type { LanePolicy } from "../core/continuity-config.ts"
import type { Turn } from "../store/sessions.ts"

export interface LaneResult {
  turnId: string
  sessionId: string
  status: "completed" | "failed" | "interrupted"
  reason: string | null
  text: string
}

/** A turn that waits; `collect` waiters gather the turns of later messages in `merged`. */
export interface Waiter {
  turn: Turn
  merged: Turn[]
  collect: boolean
  debounceMs: number
  lastAt: number
  done: Promise<LaneResult>
  settle(result: LaneResult): void
}

export interface LaneSnapshot {
  sessionId: string
  running: string | null
  waiting: number
  /** Messages waiting in total (a collected batch counts each of its messages). */
  messages: number
}

export interface LanesDeps {
  /** Run `turn`; `merged` are the turns of messages collected into it (they end with it). */
  execute(turn: Turn, merged: Turn[]): Promise<LaneResult>
  running(sessionId: string): string | null
  /** True once the gateway stops: debounces are skipped so draining is quick. */
  stopping(): boolean
}

export type Lanes = ReturnType<typeof createLanes>

export const DEFAULT_POLICY: LanePolicy = {
  mode: "queue",
  debounceMs: 0,
  maxQueue: Number.MAX_SAFE_INTEGER,
  drop: "reject",
}

export function createLanes(deps: LanesDeps) {
  const lanes = new Map<string, { waiting: Waiter[]; pumping: boolean }>()
  const lane = (sessionId: string) => {
    const found = lanes.get(sessionId)
    if (found) return found
    const created = { waiting: [] as Waiter[], pumping: false }
    lanes.set(sessionId, created)
    return created
  }

  /**
   * A turn whose execution throws (a bug, or a fault below the turn's own error handling) still ends:
   * its caller gets `failed` with the cause, and the turns behind it in the lane still run. Without
   * this the request that started it waited forever and the lane stopped pumping.
   */
  async function run(waiter: Waiter): Promise<LaneResult> {
    try {
      return await deps.execute(waiter.turn, waiter.merged)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      return { turnId: waiter.turn.id, sessionId: waiter.turn.sessionId, status: "failed", reason, text: "" }
    }
  }

  async function pump(sessionId: string) {
    const current = lane(sessionId)
    if (current.pumping) return
    current.pumping = true
    try {
      while (current.waiting.length) {
        const next = current.waiting[0]!
        // A collected batch starts only after a quiet spell; each new message restarts the clock.
        while (next.collect && !deps.stopping()) {
          const left = next.lastAt + next.debounceMs - Date.now()
          if (left <= 0) break
          await Bun.sleep(left)
        }
        current.waiting.shift()
        next.settle(await run(next))
      }
    } finally {
      current.pumping = false
      if (current.waiting.length === 0) lanes.delete(sessionId)
    }
  }

  return {
    /** The collect batch that a new message of this session can still join, if any. */
    openBatch(sessionId: string): Waiter | null {
      const last = lanes.get(sessionId)?.waiting.at(-1)
      return last?.collect ? last : null
    },
    waiting: (sessionId: string): Waiter[] => [...(lanes.get(sessionId)?.waiting ?? [])],
    /** Take a waiter out of its lane (it will not run); the caller settles it. */
    remove(waiter: Waiter) {
      const current = lanes.get(waiter.turn.sessionId)
      if (!current) return
      current.waiting = current.waiting.filter((other) => other !== waiter)
    },
    add(turn: Turn, policy: LanePolicy): Waiter {
      let settle!: (result: LaneResult) => void
      const done = new Promise<LaneResult>((resolve) => {
        settle = resolve
      })
      const waiter: Waiter = {
        turn,
        merged: [],
        collect: policy.mode === "collect",
        debounceMs: policy.debounceMs,
        lastAt: Date.now(),
        done,
        settle,
      }
      lane(turn.sessionId).waiting.push(waiter)
      void pump(turn.sessionId)
      return waiter
    },
    snapshot(): LaneSnapshot[] {
      return [...lanes.entries()].map(([sessionId, { waiting }]) => ({
        sessionId,
        running: deps.running(sessionId),
        waiting: waiting.length,
        messages: waiting.reduce((sum, waiter) => sum + 1 + waiter.merged.length, 0),
      }))
    },
  }
}
