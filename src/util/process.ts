/**
 * Processes by pid: whether one still runs. Lock and lease holders are identified by pid, and a holder
 * that is gone must not block the next gateway.
 */
import { readFileSync } from "node:fs"

/** Whether a process is still running (a zombie is not: see below). */
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
