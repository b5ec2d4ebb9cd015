/**
 * One gateway per workspace: a pid file created exclusively under the state folder. A stale file (its
 * process is gone) is taken over; a live one makes the second gateway refuse to start, naming the pid.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { join } from "node:path"
import { DrostError } from "../core/error.ts"
import { alive } from "../util/process.ts"

export class LockError extends DrostError {
  constructor(
    readonly pid: number,
    file: string,
  ) {
    super(
      "Locked",
      `another drost gateway (pid ${pid}) is already running on this workspace (lock ${file}); stop it first`,
      { pid, file },
    )
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
