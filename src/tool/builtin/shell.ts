/**
 * `shell`: runs one command line with bash (or sh) in a mutable root. The command line is checked by
 * the guard first (allow/deny prefixes, paths inside the roots); the child gets an explicit env built
 * from an allow-list (never our secrets); it runs in its own process group so a timeout or an abort
 * kills everything it started; its output is capped.
 */
import { existsSync } from "node:fs"
import { Type } from "../../core/schema.ts"
import type { RegisteredTool } from "../registry.ts"
import { Roots } from "../roots.ts"
import { guard, type ShellRules } from "./shell-guard.ts"

export interface ShellOptions extends ShellRules {
  /** Names of environment variables passed through to the child. */
  env: string[]
  timeoutMs: number
  /** Bytes of stdout + stderr kept. */
  outputLimit: number
  /** Check the paths a command line names (off only in the "permissive" profile). */
  guardPaths: boolean
}

const SHELL = ["/bin/bash", "/usr/bin/bash", "/bin/sh"].find((path) => existsSync(path)) ?? "sh"

async function collect(
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

export function shellTool(roots: () => Roots, options: () => ShellOptions): RegisteredTool {
  return {
    name: "shell",
    source: "builtin",
    description:
      "Run a shell command (bash) in the workspace and return its exit code and output (stdout and stderr interleaved as produced). Paths must stay inside the workspace; no $VAR expansion or $(…) substitution. Long-running commands are killed at the timeout.",
    parameters: Type.Object(
      {
        command: Type.String({ minLength: 1, description: "The command line" }),
        cwd: Type.Optional(
          Type.String({ description: "Working folder relative to the workspace root (default: the root)" }),
        ),
        timeoutMs: Type.Optional(
          Type.Integer({
            minimum: 100,
            description: "Kill the command after this many ms (at most the configured limit)",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    async execute(args, ctx) {
      const { command, cwd: where = ".", timeoutMs } = args as { command: string; cwd?: string; timeoutMs?: number }
      const opts = options()
      const all = roots()
      const cwd = Roots.write(all, where)
      guard(command, cwd, opts.guardPaths ? all.read : null, opts)
      const env: Record<string, string> = {}
      for (const name of opts.env) if (process.env[name] !== undefined) env[name] = process.env[name]!
      const limit = Math.min(timeoutMs ?? opts.timeoutMs, opts.timeoutMs)
      const proc = Bun.spawn([SHELL, "-c", command], {
        cwd,
        env,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
      })
      let reason: string | null = null
      const kill = (why: string) => {
        reason ??= why
        try {
          process.kill(-proc.pid, "SIGKILL") // the whole group: children and grandchildren too
        } catch {
          proc.kill("SIGKILL")
        }
      }
      const timer = setTimeout(
        () => kill(`timed out after ${limit} ms; the command and its children were killed`),
        limit,
      )
      const onAbort = () => kill("aborted; the command and its children were killed")
      ctx.signal.addEventListener("abort", onAbort, { once: true })
      const sink = { bytes: 0, dropped: 0, chunks: [] as Uint8Array[] }
      try {
        await Promise.all([
          collect(proc.stdout, opts.outputLimit, sink),
          collect(proc.stderr, opts.outputLimit, sink),
          proc.exited,
        ])
      } finally {
        clearTimeout(timer)
        ctx.signal.removeEventListener("abort", onAbort)
      }
      // Grandchildren that kept the pipes open were killed with the group; make sure none linger.
      if (reason === null) {
        try {
          process.kill(-proc.pid, "SIGKILL")
        } catch {}
      }
      const output = Buffer.concat(sink.chunks).toString("utf8")
      const dropped = sink.dropped ? `\n… [${sink.dropped} more bytes of output dropped]` : ""
      const status = reason ? `killed: ${reason}` : `exit code ${proc.exitCode}`
      const text = `${status}\n${output}${dropped}`
      if (reason) throw new Error(text)
      return text
    },
  }
}
