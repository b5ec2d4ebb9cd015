/**
 * The terminal chat's output, with log lines kept out of the conversation: a log line (a tool's
 * message, a reload, a warning) is printed above whatever the cursor is on — the prompt and what is
 * typed, or the line of the answer being streamed — and that is drawn again below it, so a log line
 * never erases or splits the answer or the input.
 */
import type { Interface } from "node:readline"

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g

/** A second Ctrl-C at an idle prompt within this time leaves the chat (the first one only says so). */
export const QUIT_WINDOW_MS = 3000

/**
 * Ctrl-C with something typed drops what was typed (as a shell does) instead of counting towards
 * leaving. readline has no call for it; `line` and `cursor` are its documented, plain fields.
 */
export function discardTyped(rl: Interface): boolean {
  const state = rl as unknown as { line: string; cursor: number }
  if (!state.line) return false
  state.line = ""
  state.cursor = 0
  return true
}

export interface ChatScreen {
  /** Conversation output (the answer, tool lines, command replies). */
  write(text: string): void
  /** Show the prompt (readline draws it and what is typed). */
  prompt(): void
  /** A line that is not part of the conversation, printed above the current line. */
  above(line: string): void
}

export function createScreen(out: NodeJS.WriteStream, rl: Interface): ChatScreen {
  /** What was written since the last newline: the line the cursor is on while an answer streams. */
  let tail = ""
  /** The prompt and the typed text are the last thing on screen (readline drew them). */
  let prompting = false
  const columns = () => Math.max(1, out.columns || 80)
  /** Rows above the cursor that belong to a line of `length` visible characters (it wraps). */
  const rowsOf = (length: number) => (length > 0 ? Math.floor((length - 1) / columns()) : 0)
  const up = (rows: number) => (rows > 0 ? `\x1b[${rows}A` : "")
  // Enter ends the prompt: what follows (a command's work, the answer) is output, not input.
  rl.on("line", () => {
    prompting = false
    tail = ""
  })
  return {
    write(text) {
      if (!text) return
      prompting = false
      out.write(text)
      const cut = text.lastIndexOf("\n")
      tail = cut >= 0 ? text.slice(cut + 1) : tail + text
    },
    prompt() {
      tail = ""
      prompting = true
      rl.prompt()
    },
    above(line) {
      const text = line.trimEnd()
      if (prompting) {
        // readline redraws the prompt from the row it believes the prompt starts on, `rows` above the
        // cursor: blank rows under the log line give it that room, and its redraw clears them.
        const { rows } = rl.getCursorPos()
        out.write(`${up(rows)}\r\x1b[J${text}\n${"\n".repeat(rows)}`)
        rl.prompt(true)
      } else {
        const rows = rowsOf(tail.replace(ANSI, "").length)
        out.write(`${up(rows)}\r\x1b[J${text}\n${tail}`)
      }
    },
  }
}
