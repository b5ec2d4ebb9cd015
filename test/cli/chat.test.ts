import { describe, expect, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { ENTRY } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

/** `drost start` in a real pseudo-terminal: what a person typing in a terminal sees. */
function terminal(cwd: string) {
  let screen = ""
  const decoder = new TextDecoder()
  const proc = Bun.spawn([process.execPath, ENTRY, "start"], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", TERM: "xterm" },
    terminal: { cols: 160, rows: 50, data: (_term, data) => (screen += decoder.decode(data)) },
  })
  const waitFor = async (pattern: RegExp | string, from = 0, ms = 10_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const part = screen.slice(from)
      // Return the position just after the match: what follows in the same chunk is still unread.
      const found =
        typeof pattern === "string"
          ? { index: part.indexOf(pattern), length: pattern.length }
          : (() => {
              const match = pattern.exec(part)
              return { index: match ? match.index : -1, length: match ? match[0].length : 0 }
            })()
      if (found.index >= 0) return from + found.index + found.length
      if (Date.now() > deadline || proc.exitCode !== null)
        throw new Error(`did not see ${pattern} on screen:\n${screen}`)
      await Bun.sleep(20) // polling the screen of another process: there is no event to wait on
    }
  }
  return {
    proc,
    waitFor,
    type: (text: string) => proc.terminal!.write(text),
    screen: () => screen,
  }
}

describe("terminal chat", () => {
  test("chat with the demo provider, run a tool, quit, start again and find the conversation", async () => {
    await using ws = await workspace({ config: demoConfig(), files: { "hello.txt": "hi from a file\n" } })
    {
      const term = terminal(ws.path)
      let mark = await term.waitFor("you › ")
      expect(term.screen()).toContain("New session")
      term.type("read hello.txt\r")
      mark = await term.waitFor(/✓ file\.read · \d+ lines? · [\d.]+ ms/, mark)
      mark = await term.waitFor("hi from a file", mark)
      mark = await term.waitFor("you › ", mark)
      term.type("/tools\r")
      mark = await term.waitFor("file.list", mark)
      term.type("/status\r")
      mark = await term.waitFor("state: running", mark)
      term.type("/provider nope\r")
      mark = await term.waitFor('unknown provider "nope"', mark)
      term.type("/quit\r")
      expect(await term.proc.exited).toBe(0)
    }
    {
      const term = terminal(ws.path)
      await term.waitFor("you › ")
      expect(term.screen()).toMatch(/Resumed session ses_\w+ \(4 messages\)/)
      expect(term.screen()).toContain("you: read hello.txt")
      term.type("\x04") // Ctrl-D leaves
      expect(await term.proc.exited).toBe(0)
    }
  })

  test("Ctrl-C aborts a running turn and the chat goes on", async () => {
    await using ws = await workspace({ config: demoConfig({}, { delayMs: 100 }) })
    const term = terminal(ws.path)
    let mark = await term.waitFor("you › ")
    term.type("tell me a long story\r")
    mark = await term.waitFor("drost › I'm", mark)
    term.type("\x03")
    mark = await term.waitFor("[turn failed: aborted by user (Ctrl-C)]", mark)
    mark = await term.waitFor("you › ", mark)
    term.type("/quit\r")
    expect(await term.proc.exited).toBe(0)
  })
})
