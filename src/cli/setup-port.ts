/**
 * Is a Control API port free? Setup checks before writing one, so `drost start` does not fail on the
 * first run with "port taken"; doctor asks the same question of a written config. A port counts as free
 * when we can bind it on the Control API's host right now (and let go at once).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

export const DEFAULT_PORT = 7420

/**
 * Why the port cannot be bound ("in use by another program", …), or null when it is free (port 0
 * always is: a free one is picked at start).
 */
export function portProblem(host: string, port: number): string | null {
  if (port === 0) return null
  try {
    Bun.serve({ hostname: host, port, fetch: () => new Response() }).stop(true)
    return null
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === "EADDRINUSE") return "in use by another program"
    if (code === "EACCES") return "not allowed for this user (ports below 1024 need privileges)"
    return `not usable (${(error as Error).message})`
  }
}

/** The first free port after `from` (up to 200 tried), or 0 (pick one at each start) when none is. */
export function nextFreePort(host: string, from: number): number {
  for (let port = from + 1; port <= Math.min(65535, from + 200); port++) if (!portProblem(host, port)) return port
  return 0
}

/** The pid of this workspace's running gateway, if one runs (it holds its own port: not "taken"). */
export function runningGateway(stateDir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(stateDir, "gateway.pid"), "utf8")) as { pid: number }).pid
    process.kill(pid, 0)
    return pid
  } catch {
    return null
  }
}
