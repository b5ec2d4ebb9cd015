/**
 * Finding a workspace's running gateway without changing anything: the lock file names its pid
 * (gateway/lock.ts), the config its Control API host and port, and the admin token comes from the
 * config, DROST_CONTROL_ADMIN_TOKEN or `.drost/control-token`. Nothing is created or started, so
 * asking in an empty folder leaves it empty, and "none runs here" is a NoGateway error (exit 1)
 * with what to do.
 *
 * `ask` is for the commands that also work on a stopped workspace: they ask the running gateway, else
 * open the workspace in-process. A read-only question where nothing is stored yet is
 * refused rather than answered by creating a workspace to look at.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { type ControlClient, controlClient } from "../api/client.ts"
import type { Config } from "../core/config.ts"
import { ConfigError, DrostError, message } from "../core/error.ts"
import { type Gateway, startGateway } from "../gateway/gateway.ts"
import { load } from "../gateway/load.ts"
import { LockError } from "../gateway/lock.ts"
import { tokenFile } from "../gateway/token.ts"
import { chooseStore } from "../store/engine/open.ts"
import { Flag } from "../util/flag.ts"
import { alive } from "../util/process.ts"
import type { Remote } from "./attach.ts"

export interface Target {
  workspace: string
  config?: string
  /** A gateway's base URL, e.g. http://127.0.0.1:7420 (default: from the config). */
  url?: string
}

export class NoGateway extends DrostError {
  constructor(workspace: string, detail = "") {
    super(
      "NoGateway",
      `no gateway is running on ${workspace}${detail}; start it with drost start (or pass --url for one elsewhere)`,
      { workspace },
    )
  }
}

export interface Running {
  config: Config
  url: string
  token: string
  /** The gateway's pid from the lock file (null for a gateway reached only by --url). */
  pid: number | null
  /** The typed Control API client (api/client.ts). */
  api: ControlClient
  /** An untyped call under /control/v1 that throws one clear line on failure (attach.ts's Remote). */
  call: Remote
}

export const where = (args: { workspace?: string; config?: string; url?: string }): Target => ({
  workspace: resolve(args.workspace ?? Flag.workspace() ?? process.cwd()),
  config: args.config,
  url: args.url,
})

/** The pid holding the workspace lock, when that process still runs. */
export function lockHolder(stateDir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(stateDir, "gateway.pid"), "utf8")) as { pid: number }).pid
    return Number.isInteger(pid) && alive(pid) ? pid : null
  } catch {
    return null
  }
}

/**
 * The config, or, when it does not load, the defaults' state folder (`<workspace>/.drost`) with a note
 * on stderr: stopping a gateway or reading its logs matters most right after the config was broken.
 */
export async function stateDirOf(target: Target): Promise<{ stateDir: string; config: Config | null }> {
  try {
    const config = await load({ root: target.workspace, file: target.config })
    return { stateDir: config.stateDir, config }
  } catch (error) {
    const stateDir = join(target.workspace, ".drost")
    const why = error instanceof ConfigError ? error.lines.join("; ") : message(error)
    process.stderr.write(`drost: the config does not load (${why}); using ${stateDir}\n`)
    return { stateDir, config: null }
  }
}

function token(config: Config): string | null {
  const configured = config.controlApi.token ?? Flag.controlAdminToken()
  if (configured) return configured
  const file = tokenFile(config.stateDir)
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null
}

/** The running gateway of a workspace, or null when none runs there (and no --url names one). */
export async function locate(target: Target, loaded?: Config): Promise<Running | null> {
  const config = loaded ?? (await load({ root: target.workspace, file: target.config }))
  const pid = lockHolder(config.stateDir)
  if (pid === null && !target.url) return null
  const { host, port } = config.controlApi
  const dialled = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host
  const url = (target.url ?? (port ? `http://${dialled}:${port}` : "")).replace(/\/+$/, "")
  if (!url)
    throw new DrostError(
      "NoUrl",
      `the gateway (pid ${pid}) listens on a random port (controlApi.port 0): pass --url http://127.0.0.1:<port> from its start line`,
    )
  const admin = token(config)
  if (!admin)
    throw new DrostError(
      "NoToken",
      `no Control API token: set DROST_CONTROL_ADMIN_TOKEN or run in the gateway's workspace (${tokenFile(config.stateDir)})`,
    )
  const call: Remote = async (path, init = {}) => {
    const response = await fetch(`${url}/control/v1${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${admin}`,
        ...(init.json === undefined ? {} : { "content-type": "application/json" }),
      },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    }).catch((cause: Error) => {
      throw unreachable(url, cause)
    })
    const body = (await response.json().catch(() => null)) as { message?: string } | null
    if (!response.ok) throw new DrostError("Remote", `${response.status}: ${body?.message ?? response.statusText}`)
    return body
  }
  return { config, url, token: admin, pid, api: controlClient(url, admin), call }
}

export function unreachable(url: string, cause: unknown): DrostError {
  const why = cause instanceof Error ? cause.message : String(cause)
  return new DrostError("Unreachable", `the gateway's Control API at ${url} did not answer (${why}); check --url`)
}

/** The running gateway, or NoGateway. */
export async function connect(target: Target): Promise<Running> {
  const running = await locate(target)
  if (!running) throw new NoGateway(target.workspace)
  return running
}

/**
 * Eden's answer as data, or one clear error line: the gateway's own message for an HTTP error, the
 * URL for a connection that failed.
 */
export async function data<T>(
  running: Running,
  request: Promise<{ data: T | null; error: { status: unknown; value: unknown } | null }>,
): Promise<T> {
  const answer = await request.catch((cause: unknown) => {
    throw unreachable(running.url, cause)
  })
  if (answer.error) {
    const value = answer.error.value as { message?: string } | string | null
    const text = typeof value === "string" ? value : (value?.message ?? JSON.stringify(value))
    // Eden reports a refused connection as a status-less error carrying the fetch failure.
    if (typeof answer.error.status !== "number") throw unreachable(running.url, text)
    throw new DrostError("Remote", `${answer.error.status}: ${text}`)
  }
  return answer.data as T
}

/**
 * The running gateway answers (found from the lock, never by starting one); else a stopped workspace
 * answers in-process. `read`: a workspace with nothing stored is refused (exit 1) instead of created.
 * The in-process gateway connects no MCP servers unless `tools` says the answer lists the tools
 * (`prompt show`): exporting a session must not start a workspace's servers or dial their URLs.
 */
export async function ask<T>(
  target: Target,
  need: { mode: "read" | "write"; tools?: boolean },
  local: (gw: Gateway) => Promise<T> | T,
  remote: (api: Remote, config: Config) => Promise<T>,
): Promise<T> {
  const config = await load({ root: target.workspace, file: target.config })
  const running = await locate(target, config)
  if (running) return remote(running.call, config)
  // A workspace on SQLite with no file yet has nothing to read; on PostgreSQL the shared database may hold it.
  const db = Flag.db() ?? join(config.stateDir, "drost.db")
  if (
    need.mode === "read" &&
    chooseStore({ url: config.store?.url, sqlitePath: db }).engine === "sqlite" &&
    !existsSync(db)
  )
    throw new NoGateway(target.workspace, ` and nothing is stored there yet (no ${db})`)
  let gw: Gateway
  try {
    gw = await startGateway(need.tools ? config : { ...config, mcp: { servers: {} } })
  } catch (error) {
    // A gateway started in between: ask it after all.
    const started = error instanceof LockError ? await locate(target, config) : null
    if (started) return remote(started.call, config)
    throw error
  }
  try {
    return await local(gw)
  } finally {
    await gw.stop("command finished")
  }
}
