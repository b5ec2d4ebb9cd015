/**
 * Runs the real gateway as a child process (`bun src/index.ts start`) in a workspace, with no TTY, and
 * talks to it over HTTP like any client would. `await using gw = await spawnGateway(ws.path)`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Subprocess } from "bun"

export const ENTRY = join(import.meta.dir, "../../src/index.ts")

export interface RunningGateway extends AsyncDisposable {
  proc: Subprocess<"ignore", "pipe", "pipe">
  url: string
  token: string
  pid: number
  /** Authorised fetch against the Control API (`path` under /control/v1 or absolute like /healthz). */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number>
  kill9(): Promise<void>
  output(): string
}

export async function runCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; stdin?: "ignore" | "pipe" },
) {
  const proc = Bun.spawn([process.execPath, ENTRY, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 15_000)
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  return { stdout, stderr, code, signal: proc.signalCode }
}

/**
 * `fetch` against a gateway (or anything in front of one) with `token`: `path` under /control/v1 unless it
 * names /control/…, /v1/… or /healthz itself; `json` becomes the body.
 */
export function apiClient(url: string, token: string) {
  return (path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> => {
    const headers = new Headers(init.headers)
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`)
    let body = init.body
    if (init.json !== undefined) {
      headers.set("content-type", "application/json")
      body = JSON.stringify(init.json)
    }
    const full =
      path.startsWith("/control/") || path.startsWith("/v1/") || path === "/healthz" ? path : `/control/v1${path}`
    return fetch(`${url}${full}`, { ...init, headers, body })
  }
}

/** `command` replaces `bun src/index.ts` (e.g. `[binary]` to run a compiled executable). */
export async function spawnGateway(
  cwd: string,
  options: { env?: Record<string, string>; args?: string[]; command?: string[] } = {},
): Promise<RunningGateway> {
  const proc = Bun.spawn([...(options.command ?? [process.execPath, ENTRY]), "start", ...(options.args ?? [])], {
    cwd,
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  let out = ""
  let err = ""
  const decoder = new TextDecoder()
  const ready = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not become ready in 15 s:\n${out}\n${err}`)), 15_000)
    ;(async () => {
      for await (const chunk of proc.stdout) {
        out += decoder.decode(chunk)
        const line = out.split("\n").find((candidate) => candidate.startsWith('{"ready":true'))
        if (line) {
          clearTimeout(timer)
          resolve(JSON.parse(line))
        }
      }
    })()
    ;(async () => {
      for await (const chunk of proc.stderr) err += decoder.decode(chunk)
    })()
    proc.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code} before it was ready:\n${out}\n${err}`))
    })
  })
  const { url, pid } = await ready
  // A token given through the environment is used as is (no token file is generated then).
  const token =
    options.env?.DROST_CONTROL_ADMIN_TOKEN ?? readFileSync(join(cwd, ".drost", "control-token"), "utf8").trim()
  const gw: RunningGateway = {
    proc,
    url,
    token,
    pid,
    api: apiClient(url, token),
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode
      proc.kill("SIGTERM")
      return await proc.exited
    },
    async kill9() {
      // The gateway itself first (the child of `drost start`'s supervisor), so the crash hits it
      // mid-work rather than as a reaction to losing its parent; then the supervisor.
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
      proc.kill("SIGKILL")
      await proc.exited
    },
    output: () => `${out}\n${err}`,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL")
        await proc.exited
      }
    },
  }
  return gw
}
