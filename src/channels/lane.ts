/**
 * Per-conversation lanes: the work of one conversation (its messages, album flushes, their answers)
 * runs in order, conversations run side by side. What a message does while its session's turn runs is
 * the orchestration's business (queue / interrupt / collect, `laneMode`); the lane only orders the
 * channel's own handling. A failure is logged and does not block the lane.
 */
import { lanePolicy } from "../core/continuity-config.ts"
import type { Config } from "../core/config.ts"
import type { Logger } from "../util/log.ts"

export interface Lanes<Key> {
  /** Run `fn` after everything queued for `key`; resolves or rejects with its result. */
  run<T>(key: Key, fn: () => Promise<T>): Promise<T>
  /** Everything still queued or running (stop() waits for it within its grace period). */
  pending(): Promise<unknown>[]
}

export function createLanes<Key = string>(log: Logger): Lanes<Key> {
  const lanes = new Map<Key, Promise<unknown>>()
  return {
    run<T>(key: Key, fn: () => Promise<T>): Promise<T> {
      const run = (lanes.get(key) ?? Promise.resolve()).then(fn)
      const tail = run.catch((error) => log.error("chat handler failed", { chat: key, error: String(error) }))
      lanes.set(key, tail)
      tail.then(() => lanes.get(key) === tail && lanes.delete(key))
      return run
    },
    pending: () => [...lanes.values()],
  }
}

/** The lane mode the orchestration config gives a channel kind. */
export function laneMode(config: Config, kind: string): "queue" | "interrupt" | "collect" {
  return lanePolicy(config.orchestration, kind).mode
}
