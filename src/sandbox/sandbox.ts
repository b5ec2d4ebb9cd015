/**
 * The OS sandbox: one instance per gateway (or CLI command), built from the config's `sandbox` mode.
 * `check()` finds out once which mechanism works here (bubblewrap on Linux, sandbox-exec on macOS) by
 * running a trivial command through it; `command()` wraps an argv for a spec; `run()` runs one command
 * to completion with a timeout, an abort signal and capped output, killing the whole process tree.
 *
 * Why a thin wrapper of our own and not @anthropic-ai/sandbox-runtime: measured here, that library
 * costs 33.6 ms per wrapped call (proxy sockets, more mounts) against 4.9 ms for bwrap itself, and
 * the 15 ms budget per shell call rules it out; its network allowlist is per-domain through an HTTP
 * proxy, while our grants are per tool and all-or-nothing, which bwrap's network namespace gives for
 * free. Long-lived sandboxed processes (tool hosts, MCP servers) amortise either, but the shell can't.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { bubblewrapArgs, bubblewrapEnv } from "./bubblewrap.ts"
import { seatbeltArgs } from "./seatbelt.ts"
import type { SandboxKind, SandboxSpec, SandboxStatus } from "./spec.ts"

export type SandboxMode = "auto" | "off"

export class SandboxUnavailable extends Error {
  override name = "SandboxUnavailable"
}

/** A command ready to spawn: executable, arguments, environment, and what to remove afterwards. */
export interface Wrapped {
  argv: string[]
  env: Record<string, string>
  cleanup(): void
}

export interface RunOptions {
  timeoutMs: number
  signal?: AbortSignal
  /** Text written to stdin (default: no stdin). */
  input?: string
  /** Bytes of stdout + stderr kept (interleaved as produced); the rest is counted. */
  outputLimit?: number
}

export interface RunResult {
  code: number | null
  output: string
  /** Bytes dropped beyond `outputLimit`. */
  dropped: number
  /** Why the process tree was killed (timeout, abort), or null when it exited by itself. */
  killed: string | null
  durationMs: number
}

/** On PATH first, then where distributions install it (a service's or `env -i`'s PATH may lack it). */
function which(name: string): string | null {
  return (
    Bun.which(name) ?? ["/usr/bin", "/usr/local/bin", "/bin"].map((dir) => `${dir}/${name}`).find(existsSync) ?? null
  )
}

async function probe(argv: string[], env: Record<string, string>): Promise<string | null> {
  try {
    const proc = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    if (code === 0 && out.trim() === "ok") return null
    return (err.trim().split("\n")[0] || `exit code ${code}`).slice(0, 300)
  } catch (error) {
    return (error as Error).message
  }
}

async function readCapped(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  sink: { bytes: number; dropped: number; chunks: Uint8Array[] },
) {
  for await (const chunk of stream) {
    const room = limit - sink.bytes
    if (room > 0) sink.chunks.push(chunk.subarray(0, room))
    sink.bytes += Math.min(Math.max(room, 0), chunk.length)
    if (chunk.length > room) sink.dropped += chunk.length - Math.max(room, 0)
  }
}

/** Kill a process and its group (the sandbox's pid namespace dies with bwrap). */
export function killTree(pid: number) {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    try {
      process.kill(pid, "SIGKILL")
    } catch {}
  }
}

export function createSandbox(mode: SandboxMode = "auto") {
  let checked: SandboxStatus | null = null
  let pending: Promise<SandboxStatus> | null = null

  const detect = async (): Promise<SandboxStatus> => {
    if (mode === "off")
      return {
        kind: "off",
        executable: null,
        reason: 'sandbox: "off" in the config: shell, workspace tools, MCP servers and gate commands run unconfined',
      }
    if (process.platform === "linux") {
      const bwrap = which("bwrap")
      if (!bwrap)
        return {
          kind: null,
          executable: null,
          reason: "bubblewrap (bwrap) is not installed: apt-get install bubblewrap (or your distribution's package)",
        }
      const spec: SandboxSpec = {
        cwd: "/",
        read: [],
        write: [],
        readOnly: [],
        hidden: [],
        env: { PATH: "/usr/bin:/bin" },
        network: false,
      }
      const problem = await probe([bwrap, ...bubblewrapArgs(spec, ["/bin/sh", "-c", "echo ok"])], bubblewrapEnv(spec))
      if (problem)
        return {
          kind: null,
          executable: bwrap,
          reason: `bubblewrap cannot create a sandbox here (${problem}); user namespaces may be disabled`,
        }
      return { kind: "bubblewrap", executable: bwrap, reason: null }
    }
    if (process.platform === "darwin") {
      const exec = which("sandbox-exec") ?? "/usr/bin/sandbox-exec"
      const problem = await probe([exec, "-p", "(version 1)(allow default)", "/bin/sh", "-c", "echo ok"], {
        PATH: "/usr/bin:/bin",
      })
      if (problem) return { kind: null, executable: exec, reason: `sandbox-exec does not work here (${problem})` }
      return { kind: "seatbelt", executable: exec, reason: null }
    }
    return {
      kind: null,
      executable: null,
      reason: `no OS sandbox is supported on ${process.platform} (Linux: bubblewrap, macOS: sandbox-exec)`,
    }
  }

  const sandbox = {
    mode,
    /** Which mechanism works here; probed once, then cached. */
    check(): Promise<SandboxStatus> {
      if (checked) return Promise.resolve(checked)
      pending ??= detect().then((status) => {
        checked = status
        return status
      })
      return pending
    },
    /** The last check's answer (null before the first check finished). */
    status: (): SandboxStatus | null => checked,

    /** Wrap `argv` for `spec`. Throws SandboxUnavailable (with the reason) where no sandbox works. */
    async command(spec: SandboxSpec, argv: string[]): Promise<Wrapped> {
      const status = await sandbox.check()
      return wrap(status, spec, argv)
    },

    /** Run one command to completion inside the sandbox. */
    async run(spec: SandboxSpec, argv: string[], options: RunOptions): Promise<RunResult> {
      const started = performance.now()
      const wrapped = await sandbox.command(spec, argv)
      const limit = options.outputLimit ?? 1_000_000
      let proc: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>
      try {
        proc = Bun.spawn(wrapped.argv, {
          cwd: spec.cwd,
          env: wrapped.env,
          stdin: "pipe",
          stdout: "pipe",
          stderr: "pipe",
          detached: true,
        })
      } catch (error) {
        wrapped.cleanup()
        return {
          code: null,
          output: `cannot run ${argv[0]}: ${(error as Error).message}`,
          dropped: 0,
          killed: null,
          durationMs: 0,
        }
      }
      let killed: string | null = null
      const kill = (why: string) => {
        killed ??= why
        killTree(proc.pid)
      }
      const timer = setTimeout(() => kill(`timed out after ${options.timeoutMs} ms`), options.timeoutMs)
      const onAbort = () => kill("aborted")
      if (options.signal?.aborted) onAbort()
      options.signal?.addEventListener("abort", onAbort, { once: true })
      if (options.input !== undefined) proc.stdin.write(options.input)
      void Promise.resolve(proc.stdin.end()).catch(() => {})
      const sink = { bytes: 0, dropped: 0, chunks: [] as Uint8Array[] }
      try {
        await Promise.all([readCapped(proc.stdout, limit, sink), readCapped(proc.stderr, limit, sink), proc.exited])
      } finally {
        clearTimeout(timer)
        options.signal?.removeEventListener("abort", onAbort)
        // Anything still in the group (unconfined modes) goes with it; in bwrap the namespace is gone.
        killTree(proc.pid)
        wrapped.cleanup()
      }
      return {
        code: killed ? null : proc.exitCode,
        output: Buffer.concat(sink.chunks).toString("utf8"),
        dropped: sink.dropped,
        killed,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      }
    },
  }
  return sandbox
}

export type Sandbox = ReturnType<typeof createSandbox>

function wrap(status: SandboxStatus, spec: SandboxSpec, argv: string[]): Wrapped {
  const kind: SandboxKind | null = status.kind
  if (kind === "bubblewrap")
    return { argv: [status.executable!, ...bubblewrapArgs(spec, argv)], env: bubblewrapEnv(spec), cleanup() {} }
  if (kind === "seatbelt" || kind === "off") {
    // Neither gives the process a private /tmp: it gets a fresh folder of its own, removed afterwards.
    const tmp = mkdtempSync(join(tmpdir(), "drost-sandbox-"))
    const home = join(tmp, "home")
    mkdirSync(home)
    const env = { ...spec.env, HOME: home, TMPDIR: tmp }
    const cleanup = () => rmSync(tmp, { recursive: true, force: true })
    if (kind === "off") return { argv, env, cleanup }
    return { argv: [status.executable!, ...seatbeltArgs(spec, argv, homedir() || null, tmp)], env, cleanup }
  }
  throw new SandboxUnavailable(`no OS sandbox is available: ${status.reason}`)
}
