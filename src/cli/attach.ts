/**
 * Commands that inspect or change a workspace's state work whether or not its gateway is running: when
 * the workspace is free they start the gateway in-process (no channels, no Control API) and stop it
 * after; when a gateway holds the lock they ask it over the Control API (`--url`, else the configured
 * host and port) with the admin token.
 */
import type { Config } from "../core/config.ts"
import { DrostError } from "../core/error.ts"
import { type Gateway, startGateway } from "../gateway/gateway.ts"
import { load } from "../gateway/load.ts"
import { LockError } from "../gateway/lock.ts"
import { resolveTokens } from "../gateway/token.ts"

export interface AttachArgs {
  workspace: string
  config?: string
  url?: string
}

export type Remote = (path: string, init?: { method?: string; json?: unknown }) => Promise<unknown>

export async function attach<T>(
  args: AttachArgs,
  local: (gw: Gateway) => Promise<T> | T,
  remote: (api: Remote, config: Config) => Promise<T>,
): Promise<T> {
  const config = await load({ root: args.workspace, file: args.config })
  let gw: Gateway | null = null
  try {
    gw = await startGateway(config)
  } catch (error) {
    if (!(error instanceof LockError)) throw error
    const port = config.controlApi.port
    const base = args.url ?? (port ? `http://${config.controlApi.host}:${port}` : null)
    if (!base)
      throw new DrostError(
        "Locked",
        `${error.message}; its Control API port is not fixed (controlApi.port 0), so pass --url http://127.0.0.1:<port>`,
      )
    const token = resolveTokens(config).admin
    const api: Remote = async (path, init = {}) => {
      const response = await fetch(`${base.replace(/\/$/, "")}/control/v1${path}`, {
        method: init.method ?? "GET",
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.json === undefined ? {} : { "content-type": "application/json" }),
        },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      }).catch((cause: Error) => {
        throw new DrostError(
          "Unreachable",
          `the running gateway's Control API at ${base} did not answer (${cause.message}); pass --url`,
        )
      })
      const body = (await response.json().catch(() => null)) as { message?: string } | null
      if (!response.ok) throw new DrostError("Remote", `${response.status}: ${body?.message ?? response.statusText}`)
      return body
    }
    return remote(api, config)
  }
  try {
    return await local(gw)
  } finally {
    await gw.stop("command finished")
  }
}

export const attachArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace folder (default: DROST_WORKSPACE or the current folder)",
  },
  config: {
    type: "string",
    alias: "c",
    description: "Config file (default: the first drost.config.* in the workspace)",
  },
  url: {
    type: "string",
    description: "Control API of a running gateway (default: controlApi.host and port from the config)",
  },
} as const
