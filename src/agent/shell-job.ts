/**
 * A background shell process: the sandbox-wrapped command the shell tool prepared, spawned in its own
 * process group with stdout and stderr appended (interleaved, as produced) to an output file of its own,
 * capped at `outputBytes` (the rest is counted). Killing it kills the whole tree (bwrap's pid namespace,
 * or the process group where there is none), at the timeout or on `kill()`.
 */
import { closeSync, openSync, writeSync } from "node:fs"
import { killTree, type Wrapped } from "../sandbox/sandbox.ts"

export interface ShellExit {
  code: number | null
  /** Why it was killed (timeout, cancelled, shutdown), or null when it exited by itself. */
  killed: string | null
  /** Bytes beyond the output cap, not written. */
  dropped: number
}

export interface ShellProcess {
  pid: number
  exited: Promise<ShellExit>
  kill(why: string): void
}

export function spawnShell(input: {
  wrapped: Wrapped
  cwd: string
  file: string
  outputBytes: number
  timeoutMs: number
}): ShellProcess {
  const fd = openSync(input.file, "a", 0o600)
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>
  try {
    proc = Bun.spawn(input.wrapped.argv, {
      cwd: input.cwd,
      env: input.wrapped.env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    })
  } catch (error) {
    closeSync(fd)
    input.wrapped.cleanup()
    throw error
  }
  let written = 0
  let dropped = 0
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      const room = Math.max(0, input.outputBytes - written)
      if (room > 0) writeSync(fd, chunk.subarray(0, room))
      written += Math.min(room, chunk.length)
      dropped += Math.max(0, chunk.length - room)
    }
  }
  let killed: string | null = null
  const kill = (why: string) => {
    killed ??= why
    killTree(proc.pid)
  }
  const timer = setTimeout(() => kill(`timed out after ${input.timeoutMs} ms (jobs.shellTimeoutMs)`), input.timeoutMs)
  const exited = (async (): Promise<ShellExit> => {
    try {
      await Promise.all([drain(proc.stdout), drain(proc.stderr), proc.exited])
    } finally {
      clearTimeout(timer)
      // Whatever is left of the group goes with it (unconfined modes); in bwrap the namespace is gone.
      killTree(proc.pid)
      closeSync(fd)
      input.wrapped.cleanup()
    }
    return { code: killed ? null : proc.exitCode, killed, dropped }
  })()
  return { pid: proc.pid, exited, kill }
}
