/**
 * Drives a command in a real pseudo-terminal (Bun.spawn's `terminal` option): the child sees a TTY on
 * stdin and stdout, exactly as when a person runs it. `expect` waits for text on the screen (ANSI codes
 * stripped) after the previous match; keys are written as a terminal sends them (Enter is `\r`).
 */
export const KEY = {
  enter: "\r",
  up: "\x1b[A",
  down: "\x1b[B",
  left: "\x1b[D",
  right: "\x1b[C",
  space: " ",
  backspace: "\x7f",
  ctrlC: "\x03",
} as const

const strip = (text: string) => text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\x1b\][^\x07]*\x07/g, "")

export interface Pty extends AsyncDisposable {
  proc: Bun.Subprocess
  /** Everything shown so far, without ANSI codes. */
  screen(): string
  /** Everything written so far, ANSI codes included (render it with vt.ts to see the final screen). */
  raw(): string
  expect(text: string | RegExp, timeoutMs?: number): Promise<void>
  write(keys: string): void
  exited: Promise<number>
}

export function spawnPty(
  cmd: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; cols?: number },
): Pty {
  const decoder = new TextDecoder()
  let raw = ""
  let cursor = 0
  let wake: (() => void) | null = null
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: { ...process.env, TERM: "xterm-256color", ...options.env },
    terminal: {
      cols: options.cols ?? 120,
      rows: 40,
      data(_terminal, data) {
        raw += decoder.decode(data, { stream: true })
        wake?.()
      },
    },
  })
  const screen = () => strip(raw)
  return {
    proc,
    screen,
    raw: () => raw,
    exited: proc.exited,
    async expect(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const rest = screen().slice(cursor)
        const index = typeof text === "string" ? rest.indexOf(text) : (rest.match(text)?.index ?? -1)
        if (index >= 0) {
          cursor += index + 1
          return
        }
        if (proc.exitCode !== null || Date.now() > deadline)
          throw new Error(
            `pty: did not see ${String(text)} (exit ${proc.exitCode}); screen after the last match:\n${rest}`,
          )
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 100)
        })
      }
    },
    write(keys) {
      proc.terminal!.write(keys)
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL")
      await proc.exited
      proc.terminal?.close()
    },
  }
}
