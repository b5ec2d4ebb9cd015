/**
 * Helpers for the self-evolution end-to-end tests: a workspace that carries its own copy of the drost
 * source (so a transaction can change the code the gateway runs), a supervised gateway started from
 * that copy, and a hash of the mutable roots.
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import type { Subprocess } from "bun"

export const REPO = join(import.meta.dir, "../..")

/** Copy src/ and link node_modules so `bun <ws>/src/index.ts` runs the workspace's own code. */
export function vendorSource(ws: string) {
  cpSync(join(REPO, "src"), join(ws, "src"), { recursive: true })
  symlinkSync(join(REPO, "node_modules"), join(ws, "node_modules"))
  // Assets the source imports from the repository root (default prompts); the workspace's own win.
  if (existsSync(join(REPO, "prompts")))
    cpSync(join(REPO, "prompts"), join(ws, "prompts"), { recursive: true, force: false, errorOnExist: false })
  if (existsSync(join(REPO, "tsconfig.json"))) cpSync(join(REPO, "tsconfig.json"), join(ws, "tsconfig.json"))
}

/** sha256 over every file (path + bytes) under the given roots, in sorted order. */
export function hashRoots(ws: string, roots: string[]): string {
  const hash = new Bun.CryptoHasher("sha256")
  const walk = (rel: string) => {
    const full = join(ws, rel)
    if (!existsSync(full)) return
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full).sort()) walk(join(rel, entry))
      return
    }
    hash.update(`${rel}\0`)
    hash.update(readFileSync(full))
  }
  for (const root of [...roots].sort()) walk(root)
  return hash.digest("hex")
}

export interface Supervised extends AsyncDisposable {
  proc: Subprocess<"ignore", "pipe", "pipe">
  url: string
  token: string
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  /** Resolves with the next ready line printed after `after` characters of stdout. */
  nextReady(after: number, ms?: number): Promise<{ pid: number; url: string; at: number }>
  outLength(): number
  output(): string
}

/** `bun <ws>/src/index.ts start` (the supervisor) with no TTY; resolves on the first ready line. */
export async function startSupervised(ws: string, port: number): Promise<Supervised> {
  const proc = Bun.spawn([process.execPath, join(ws, "src/index.ts"), "start"], {
    cwd: ws,
    env: { ...process.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  let out = ""
  let err = ""
  const waiters: (() => void)[] = []
  const decoder = new TextDecoder()
  ;(async () => {
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk)
      for (const wake of waiters.splice(0)) wake()
    }
  })()
  ;(async () => {
    for await (const chunk of proc.stderr) err += decoder.decode(chunk)
  })()
  proc.exited.then(() => {
    for (const wake of waiters.splice(0)) wake()
  })
  const nextReady = async (after: number, ms = 20_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const line = out
        .slice(after)
        .split("\n")
        .find((candidate) => candidate.startsWith('{"ready":true'))
      if (line) return { ...(JSON.parse(line) as { pid: number; url: string }), at: Date.now() }
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ready line (exit ${proc.exitCode}):\n${out}\n${err}`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, Math.max(0, deadline - Date.now()))
      })
    }
  }
  await nextReady(0)
  const token = readFileSync(join(ws, ".drost", "control-token"), "utf8").trim()
  const url = `http://127.0.0.1:${port}`
  return {
    proc,
    url,
    token,
    api(path, init = {}) {
      const headers = new Headers(init.headers)
      headers.set("authorization", `Bearer ${token}`)
      let body = init.body
      if (init.json !== undefined) {
        headers.set("content-type", "application/json")
        body = JSON.stringify(init.json)
      }
      const full = path.startsWith("/control/") || path === "/healthz" ? path : `/control/v1${path}`
      return fetch(`${url}${full}`, { ...init, headers, body })
    },
    nextReady,
    outLength: () => out.length,
    output: () => `${out}\n${err}`,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM")
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000)
        await proc.exited
        clearTimeout(timer)
      }
    },
  }
}

export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") })
  const port = server.port!
  server.stop(true)
  return port
}
