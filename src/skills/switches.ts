/**
 * The skills' per-session switches over an asynchronous key-value store (the store contract's
 * `sessions.kv`, PostgreSQL): the catalog reads them synchronously while it builds a turn's prompt, so
 * a session's value is loaded before that (`load`, once per turn while skills are installed, since
 * another gateway may have changed it) and kept here; `set` writes through and resolves once stored.
 */
import type { SessionSwitches } from "./catalog.ts"

export interface AsyncKv {
  get(key: string): Promise<string | null>
  set(key: string, value: string): Promise<void>
}

export interface LoadedSwitches extends SessionSwitches {
  /** Read `key` afresh from the store. */
  load(key: string): Promise<void>
}

export function loadedSwitches(kv: AsyncKv): LoadedSwitches {
  const values = new Map<string, string | null>()
  return {
    get: (key) => values.get(key) ?? null,
    async set(key, value) {
      await kv.set(key, value)
      values.set(key, value)
    },
    async load(key) {
      values.set(key, await kv.get(key))
    },
  }
}
