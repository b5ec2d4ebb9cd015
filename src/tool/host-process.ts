/**
 * One tool host process, seen from the gateway: it is spawned from a ready command (already wrapped
 * in the OS sandbox by hosts.ts), loads files, runs calls, honours aborts, and may die at any moment.
 * A death is never an exception here: a load in progress resolves as "failed" naming the file being
 * imported, running calls are rejected with the reason, and `onDeath` tells the loader to start a new
 * host on the next refresh. Killing it kills its whole process tree (bubblewrap's pid namespace).
 */
import { closeSync } from "node:fs"
import { constants } from "node:os"
import { killTree } from "../sandbox/sandbox.ts"
import type { Logger } from "../util/log.ts"
import { type CallContext, type FromHost, HOST_FD, type ToHost, type ToolMeta } from "./protocol.ts"

/** How long a host may ignore an abort before it is killed. */
export const ABORT_GRACE_MS = 500
/** Extra time for process start-up, on top of the import timeout, before a silent host is given up. */
const START_SLACK_MS = 5_000

export interface HostCommand {
  argv: string[]
  env: Record<string, string>
  cwd: string
  /** Removes what wrapping the command created (temp folders); called once the process is gone. */
  cleanup(): void
}

export type LoadOutcome =
  | { kind: "loaded"; tools: ToolMeta[]; rejected: { file: string; reason: string }[] }
  /** The host died or hung; `file` is the one it was importing (null: before the first import). */
  | { kind: "failed"; file: string | null; reason: string }

export interface CallLog {
  info(m: string, f?: Record<string, unknown>): void
  warn(m: string, f?: Record<string, unknown>): void
  error(m: string, f?: Record<string, unknown>): void
}

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
  log: CallLog
  /** Closes the call's guard window (see HostOptions.window). */
  end?: () => void
}

export interface HostOptions {
  log: Logger
  label: string
  /**
   * Opened when a load or a call starts, closed when it ends (or the host dies): the place to undo what
   * a tool may not do that no mount can stop (creating a loaded-code file that did not exist).
   */
  window?: () => () => void
}

/** Signal names by number; the first name wins (SIGABRT, not its alias SIGIOT). */
const SIGNALS: Record<number, string> = {}
for (const [name, number] of Object.entries(constants.signals)) SIGNALS[number] ??= name

/** "SIGABRT", "exit code 3": bubblewrap reports a signal of its child as 128 + the signal number. */
function describeExit(code: number | null, signal: string | number | null): string {
  if (signal) return `killed by ${typeof signal === "number" ? (SIGNALS[signal] ?? signal) : signal}`
  if (code !== null && code > 128 && SIGNALS[code - 128]) return `killed by ${SIGNALS[code - 128]}`
  return `exit code ${code}`
}

export function startHost(command: HostCommand, options: HostOptions) {
  const proc = Bun.spawn(command.argv, {
    cwd: command.cwd,
    env: command.env,
    stdio: ["pipe", "pipe", "pipe", "pipe"],
    // Its own process group, so a kill reaches every process it started (without bwrap too).
    detached: true,
  })
  const pending = new Map<number, Pending>()
  /** Calls aborted but not finished yet: the host may be stuck in one. */
  const aborted = new Set<number>()
  const listeners: ((reason: string) => void)[] = []
  let ids = 0
  let dead: string | null = null
  let retired = false
  let stderrTail = ""
  let onMessage: ((message: FromHost) => void) | null = null

  const die = (reason: string) => {
    if (dead) return
    dead = reason
    killTree(proc.pid)
    for (const entry of pending.values()) {
      entry.end?.()
      entry.reject(new Error(reason))
    }
    pending.clear()
    aborted.clear()
    for (const listener of [...listeners]) listener(reason)
  }

  const send = (message: ToHost) => {
    if (dead) return
    try {
      proc.stdin.write(`${JSON.stringify(message)}\n`)
      void Promise.resolve(proc.stdin.flush()).catch(() => {})
    } catch {
      // The host is gone; its exit is reported by `exited` below.
    }
  }

  const dispatch = (message: FromHost) => {
    if (message.type === "log") {
      pending.get(message.id)?.log[message.level](message.message, message.fields)
      return
    }
    if (message.type === "result") {
      const entry = pending.get(message.id)
      if (!entry) return
      pending.delete(message.id)
      aborted.delete(message.id)
      entry.end?.()
      if (message.ok) entry.resolve(message.value)
      else entry.reject(new Error(message.error))
      if (retired && pending.size === 0) die("retired")
      return
    }
    onMessage?.(message)
  }

  const lines = async (stream: ReadableStream<Uint8Array>, each: (line: string) => void) => {
    const decoder = new TextDecoder()
    let buffer = ""
    try {
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk, { stream: true })
        let end = buffer.indexOf("\n")
        while (end >= 0) {
          each(buffer.slice(0, end))
          buffer = buffer.slice(end + 1)
          end = buffer.indexOf("\n")
        }
      }
    } catch {}
    if (buffer) each(buffer)
  }

  // The message pipe is ours to close (Bun leaves extra stdio fds open): at its end of file, which
  // comes when the host and everything it started are gone (bubblewrap's pid namespace sees to that).
  const channel = proc.stdio[HOST_FD] as number
  void lines(Bun.file(channel).stream(), (line) => {
    if (!line) return
    try {
      dispatch(JSON.parse(line) as FromHost)
    } catch {
      options.log.warn("tool host wrote a line that is not a message", {
        host: options.label,
        line: line.slice(0, 200),
      })
    }
  }).finally(() => {
    try {
      closeSync(channel)
    } catch {}
  })
  // What tools print goes to the log; the last lines of stderr explain a crash.
  void lines(proc.stdout, (line) => line && options.log.debug("tool output", { host: options.label, line }))
  void lines(proc.stderr, (line) => {
    if (!line) return
    stderrTail = `${stderrTail}\n${line}`.slice(-2000)
    options.log.debug("tool stderr", { host: options.label, line })
  })

  void proc.exited.then((code) => {
    // Bun ends a crash report with its version line; the error line says more.
    const tail = stderrTail
      .trim()
      .split("\n")
      .filter((line) => line.trim() && !/^Bun v\d/.test(line.trim()))
    const last = tail.findLast((line) => /error|abort|panic|memory/i.test(line)) ?? tail.at(-1)
    const why = `the tool host exited (${describeExit(code, proc.signalCode)})${last ? `: ${last.trim().slice(0, 300)}` : ""}`
    if (!dead) options.log.warn("tool host exited", { host: options.label, reason: why })
    die(why)
    command.cleanup()
  })

  const host = {
    label: options.label,
    pid: proc.pid,
    /** Why it is gone, or null while it runs. */
    dead: () => dead,
    pending: () => pending.size,
    /** A call was aborted and has not let go yet: new calls should go to a new host. */
    stuck: () => aborted.size > 0,
    onDeath(listener: (reason: string) => void) {
      listeners.push(listener)
    },

    /** Import `files`; a host that dies or stays silent on one file fails naming it. */
    load(files: string[], version: number, importTimeoutMs: number, cwd: string): Promise<LoadOutcome> {
      return new Promise((resolve) => {
        let importing: string | null = null
        let timer: Timer | undefined
        let done = false
        const end = options.window?.()
        const finish = (outcome: LoadOutcome) => {
          if (done) return
          done = true
          end?.()
          clearTimeout(timer)
          onMessage = null
          const index = listeners.indexOf(onDie)
          if (index >= 0) listeners.splice(index, 1)
          resolve(outcome)
        }
        const arm = (ms: number) => {
          clearTimeout(timer)
          timer = setTimeout(() => {
            const reason = importing
              ? `importing took longer than ${importTimeoutMs} ms (top-level code that never finishes?); its tool host was killed`
              : "the tool host did not start"
            die(reason)
            finish({ kind: "failed", file: importing, reason })
          }, ms)
        }
        const onDie = (reason: string) =>
          finish({
            kind: "failed",
            file: importing,
            reason: importing ? `importing it ended its tool host: ${reason.replace(/^the tool host /, "")}` : reason,
          })
        if (dead) return finish({ kind: "failed", file: null, reason: dead })
        listeners.push(onDie)
        onMessage = (message) => {
          if (message.type === "importing") {
            importing = message.file
            arm(importTimeoutMs + 1_000)
          } else if (message.type === "loaded")
            finish({ kind: "loaded", tools: message.tools, rejected: message.rejected })
        }
        arm(importTimeoutMs + START_SLACK_MS)
        send({ type: "load", files, version, importTimeoutMs, cwd })
      })
    },

    call(name: string, args: unknown, context: CallContext, signal: AbortSignal, log: CallLog): Promise<unknown> {
      if (dead) return Promise.reject(new Error(`${dead}; the next turn starts a new one, call the tool again`))
      const id = ++ids
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, log, end: options.window?.() })
        send({ type: "call", id, name, args, context })
        const onAbort = () => {
          if (!pending.has(id)) return
          aborted.add(id)
          send({ type: "abort", id, reason: String(signal.reason) })
          // A tool stuck in a busy loop never reads the abort: the whole host goes.
          setTimeout(() => {
            if (!pending.has(id)) return
            options.log.warn("tool ignored its abort; killing its host", { tool: name, host: options.label })
            die(`${name} did not stop after its abort; its tool host was killed`)
          }, ABORT_GRACE_MS)
        }
        if (signal.aborted) onAbort()
        else signal.addEventListener("abort", onAbort, { once: true })
      })
    },

    /** Stop once the running calls are done (a newer generation took over). */
    retire() {
      retired = true
      if (pending.size === 0) die("retired")
    },
    kill(reason: string) {
      die(reason)
    },
    exited: () => proc.exited,
  }
  return host
}

export type HostProcess = ReturnType<typeof startHost>
