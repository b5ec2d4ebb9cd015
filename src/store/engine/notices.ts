/**
 * Notifications between the gateways on one store (contract.ts `NoticesContract`), the parts both engines
 * share: the limits PostgreSQL's NOTIFY sets (kept on SQLite too, so a payload that works on one engine
 * works on the other), a listener that throws (logged; the others still hear), and SQLite's in-process
 * hub. PostgreSQL delivers through LISTEN/NOTIFY (postgres.ts, `Bun.SQL`'s `listen`/`notify`).
 */
import type { Database } from "bun:sqlite"
import { realpathSync } from "node:fs"
import { Invalid } from "../../core/error.ts"
import { Log } from "../../util/log.ts"

const log = Log.create("store")

/** PostgreSQL's identifier limit (a channel is one, quoted). */
export const MAX_CHANNEL_BYTES = 63
/** PostgreSQL's NOTIFY payload limit (under 8000 bytes). */
export const MAX_PAYLOAD_BYTES = 7999

const bytes = (text: string) => Buffer.byteLength(text, "utf8")

/** Refuse what PostgreSQL's NOTIFY would refuse, with the limit named. */
export function checkNotice(channel: string, payload = "") {
  if (channel === "" || bytes(channel) > MAX_CHANNEL_BYTES)
    throw new Invalid(`a notice channel is 1 to ${MAX_CHANNEL_BYTES} bytes`, { channel })
  if (bytes(payload) > MAX_PAYLOAD_BYTES)
    throw new Invalid(`a notice payload is at most ${MAX_PAYLOAD_BYTES} bytes (got ${bytes(payload)})`, { channel })
  if (payload.includes("\u0000")) throw new Invalid("a notice payload cannot hold U+0000", { channel })
}

/** `onnotify` wrapped so a throw is logged instead of reaching the caller (or becoming an uncaught exception). */
export function guarded(channel: string, onnotify: (payload: string) => void) {
  return (payload: string) => {
    try {
      onnotify(payload)
    } catch (error) {
      log.error("a notice listener failed", { channel, error: String(error) })
    }
  }
}

/**
 * The listeners of every SQLite database in this process, by database and channel: a file by its real
 * path, a :memory: database by its handle. Entries go with their last listener.
 */
const hub = new Map<string, Set<(payload: string) => void>>()
const memories = new WeakMap<Database, string>()
let memory = 0

function databaseOf(db: Database): string {
  const file = db.filename
  if (!file || file === ":memory:") {
    const found = memories.get(db) ?? `:memory:${++memory}`
    memories.set(db, found)
    return found
  }
  try {
    return realpathSync(file)
  } catch {
    return file
  }
}

/**
 * SQLite's notices: every handle on the same file in this process hears them (one gateway per process
 * shares nothing with another process this way). Delivered after `notify` returns, in order.
 */
export function sqliteNotices(db: Database) {
  const database = databaseOf(db)
  const keyOf = (channel: string) => `${database}\n${channel}`
  const mine = new Set<() => void>()
  return {
    async notify(channel: string, payload = "") {
      checkNotice(channel, payload)
      const now = [...(hub.get(keyOf(channel)) ?? [])]
      if (now.length)
        queueMicrotask(() => {
          for (const listener of now) listener(payload)
        })
    },
    async listen(channel: string, onnotify: (payload: string) => void, onlisten?: () => void) {
      checkNotice(channel)
      const key = keyOf(channel)
      const listener = guarded(channel, onnotify)
      const set = hub.get(key) ?? new Set()
      hub.set(key, set)
      set.add(listener)
      const unlisten = () => {
        set.delete(listener)
        if (set.size === 0 && hub.get(key) === set) hub.delete(key)
        mine.delete(unlisten)
      }
      mine.add(unlisten)
      if (onlisten) guarded(channel, onlisten)("")
      return { unlisten: async () => unlisten() }
    },
    /** At the store's close: this handle's listeners stop. */
    close() {
      for (const unlisten of [...mine]) unlisten()
    },
  }
}
