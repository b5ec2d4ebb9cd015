/**
 * The terminal chat at the keyboard (issue 15 item 7): Ctrl-C at an idle prompt does not stop the
 * gateway at once, log lines do not cut into the streamed answer, and /tools fits the terminal.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync } from "node:fs"
import { demoConfig } from "../lib/config.ts"
import { ENTRY } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { KEY, type Pty, spawnPty } from "./pty.ts"
import { render } from "./vt.ts"

setDefaultTimeout(40_000)

const COLS = 100

async function startChat(
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ tty: Pty; api: (path: string) => Promise<Response> }> {
  const tty = spawnPty([process.execPath, ENTRY, "start"], { cwd, env: { NO_COLOR: "1", ...env }, cols: COLS })
  await tty.expect("you › ", 20_000)
  const base = tty.screen().match(/Control API (http:\/\/\S+)\/control\/v1/)![1]!
  const token = readFileSync(`${cwd}/.drost/control-token`, "utf8").trim()
  return {
    tty,
    api: (path) => fetch(`${base}/control/v1${path}`, { headers: { authorization: `Bearer ${token}` } }),
  }
}

/** Polls `tty`'s screen after `from` for `pattern` (another process's screen: no event to wait on). */
async function waitScreen(tty: Pty, pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = tty.screen().slice(from).match(pattern)
    if (match) return match
    if (Date.now() > deadline || tty.proc.exitCode !== null)
      throw new Error(`did not see ${pattern}; screen since:\n${tty.screen().slice(from)}`)
    await Bun.sleep(50)
  }
}

describe("terminal chat keys and screen", () => {
  test("Ctrl-C at an idle prompt asks for a second one; the banner says so; the gateway keeps running until then", async () => {
    await using ws = await workspace({ config: demoConfig() })
    const { tty, api } = await startChat(ws.path)
    await using _ = tty
    tty.write(KEY.ctrlC)
    await tty.expect("press Ctrl-C again to stop the gateway and leave, or type /quit")
    await tty.expect("you › ")
    expect((await api("/status")).status).toBe(200)
    // Ctrl-C with something typed drops it (and does not count towards leaving); a line typed in
    // between starts over: the next Ctrl-C only warns again.
    let from = tty.screen().length
    tty.write("half a thought")
    await waitScreen(tty, /half a thought/, from)
    tty.write(KEY.ctrlC)
    await waitScreen(tty, /half a thought\r*\nyou › $/, from)
    from = tty.screen().length
    tty.write(`/status${KEY.enter}`)
    await waitScreen(tty, /state: running/, from)
    from = tty.screen().length
    tty.write(KEY.ctrlC)
    await waitScreen(tty, /press Ctrl-C again/, from)
    tty.write(KEY.ctrlC)
    expect(await tty.exited).toBe(0)
    // The banner tells it as it is.
    expect(tty.screen()).toContain("Ctrl-C or /stop aborts a running turn")
    expect(tty.screen()).toContain("Ctrl-C twice at the prompt stops the gateway")
    // What a binary user reads points at nothing they lack (they have no docs/ folder) and says what to run.
    expect(tty.screen()).not.toMatch(/docs\/\w+\.md/)
    expect(tty.screen()).toContain("drost setup --yes --provider openai")
  })

  test("/tools fits the terminal width and cuts a description at a word boundary", async () => {
    await using ws = await workspace({ config: demoConfig() })
    const { tty, api } = await startChat(ws.path)
    await using _ = tty
    const from = tty.screen().length
    tty.write(`/tools${KEY.enter}`)
    const shown = (await waitScreen(tty, /\/tools\r*\n([\s\S]*?)\r*\nyou › $/, from))[1]!.split(/\r*\n/)
    const tools = ((await (await api("/tools")).json()) as { tools: { name: string; description: string }[] }).tools
    expect(shown.length).toBe(tools.length)
    let cut = 0
    for (const line of shown) {
      expect([line, line.length <= COLS]).toEqual([line, true])
      const name = line.slice(2).split(/\s+/)[0]!
      const full = tools.find((tool) => tool.name === name)!.description.split("\n")[0]!
      const description = line.slice(40)
      if (!description.endsWith("…")) {
        expect(description).toBe(full)
        continue
      }
      cut++
      const kept = description.slice(0, -1)
      expect(full.startsWith(kept)).toBe(true)
      // The cut falls between words: the next character of the full description is a space.
      expect([line, /\s/.test(full[kept.length]!)]).toEqual([line, true])
    }
    expect(cut).toBeGreaterThan(0)
  })

  test("a log line during a streamed answer goes above it; the answer stays whole on screen", async () => {
    await using ws = await workspace({ config: demoConfig({}, { delayMs: 200 }) })
    const { tty, api } = await startChat(ws.path, { DROST_LOG_LEVEL: "info" })
    await using _ = tty
    const from = tty.screen().length
    tty.write(`tell me a story${KEY.enter}`)
    await waitScreen(tty, /drost › I'm Drost's/, from)
    // A reload of tools/ while the answer streams writes a log line ("workspace tools …").
    ws.write(
      "tools/extra.ts",
      'export default { name: "extra", description: "x", parameters: {}, execute: () => "" }\n',
    )
    expect((await api("/tools")).status).toBe(200)
    await waitScreen(tty, /workspace tools/, from)
    await waitScreen(tty, /\nyou › $/, from, 30_000)
    const session = tty.screen().match(/New session (ses_\w+)/)![1]!
    const messages = (
      (await (await api(`/sessions/${session}?limit=2`)).json()) as {
        messages: { role: string; parts: { type: string; text?: string }[] }[]
      }
    ).messages
    const answer = messages
      .find((message) => message.role === "assistant")!
      .parts.map((part) => part.text ?? "")
      .join("")
    expect(answer).not.toContain("docs/") // the demo's hint too: a binary user has no docs folder
    const rows = render(tty.raw(), COLS)
    const log = rows.findIndex((row) => row.includes("workspace tools"))
    const start = rows.findIndex((row) => row.startsWith("drost › "))
    const end = rows.findIndex((row, index) => index > start && row.startsWith("you › "))
    expect(log).toBeGreaterThan(-1)
    expect(log).toBeLessThan(start)
    // The answer's rows, joined (it wraps at the terminal's width), are exactly the answer.
    expect(rows.slice(start, end).join("").replace(/\s+/g, " ").trim()).toBe(
      `drost › ${answer}`.replace(/\s+/g, " ").trim(),
    )

    // At the prompt with something typed: the log line goes above, the prompt and the text come back.
    const mark = tty.screen().length
    tty.write("half typed")
    await waitScreen(tty, /half typed/, mark)
    ws.write("tools/more.ts", 'export default { name: "more", description: "y", parameters: {}, execute: () => "" }\n')
    expect((await api("/tools")).status).toBe(200)
    await waitScreen(tty, /workspace tools[^\n]*\r*\nyou › half typed$/, mark)
    const after = render(tty.raw(), COLS).filter(Boolean)
    expect(after.at(-1)).toBe("you › half typed")
    expect(after.at(-2)).toContain("workspace tools")
  })
})
