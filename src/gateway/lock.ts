/**
 * One gateway per workspace: a pid file created exclusively under the state folder. A stale file (its
 * process is gone) is taken over; a live one makes the second gateway refuse to start, naming the pid.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { join } from "node:path"
import { DrostError } from "../core/error.ts"

export class LockError extends DrostError {
  constructor(
    readonly pid: number,
    file: string,
  ) {
    super("Locked", `another drost gateway (pid ${pid}) is already running on this workspace (lock ${file}); stop it first`, { pid, file })
  }
}

/** Whether a lock holder is still running (a zombie is not: see below). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
  return !zombie(pid)
}

/**
 * A killed gateway whose parent died too stays a zombie until init reaps it, which some container
 * inits do only every second or two; it holds nothing any more, so it must not block a restart.
 */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.charAt(stat.lastIndexOf(")") + 2) === "Z"
  } catch {
    return false
  }
}

export interface Lock {
  file: string
  release(): void
}

export function acquire(stateDir: string): Lock {
  const file = join(stateDir, "gateway.pid")
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600)
      writeSync(fd, `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`)
      closeSync(fd)
      return {
        file,
        release() {
          try {
            const owner = JSON.parse(readFileSync(file, "utf8")) as { pid: number }
            if (owner.pid === process.pid) unlinkSync(file)
          } catch {
            // Already gone: nothing to release.
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const owner = (() => {
        try {
          return JSON.parse(readFileSync(file, "utf8")) as { pid: number }
        } catch {
          return null
        }
      })()
      if (owner && owner.pid !== process.pid && alive(owner.pid)) throw new LockError(owner.pid, file)
      try {
        unlinkSync(file) // stale: its process is gone
      } catch {
        // Someone else took it over first; the next attempt decides.
      }
    }
  }
  throw new DrostError("Locked", `could not take the gateway lock ${file}`)
}
