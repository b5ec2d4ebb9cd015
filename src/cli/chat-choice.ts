/**
 * The terminal's current session, remembered in the state folder: after `/session <id>` (or `/new`)
 * the next `drost start` and `drost chat` — after a restart, or quit and start again — resume that
 * session instead of the most recently updated one. Both terminal chats share the choice: they are one
 * surface, in front of or attached to the same gateway. (Telegram keeps a session per chat in the store.)
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const FILE = "terminal-session"

/** The remembered session id, or null (none chosen yet, or the file is unreadable). */
export function chosenSession(stateDir: string): string | null {
  try {
    const id = readFileSync(join(stateDir, FILE), "utf8").trim()
    return /^[\w-]{1,200}$/.test(id) ? id : null
  } catch {
    return null
  }
}

/** Remember `id`. Never creates the state folder (a chat pointed at a gateway elsewhere writes nothing). */
export function chooseSession(stateDir: string, id: string): void {
  if (!existsSync(stateDir)) return
  const file = join(stateDir, FILE)
  try {
    writeFileSync(`${file}.tmp`, `${id}\n`, { mode: 0o600 })
    renameSync(`${file}.tmp`, file)
  } catch {
    // A read-only state folder only costs the memory of the choice; the chat goes on.
  }
}
