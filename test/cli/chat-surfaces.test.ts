/**
 * One chat, three surfaces (issue 15 items 5 and 6): `drost start`'s terminal chat, `drost chat`
 * attached over the Control API and Telegram (the fake Bot API) talk to one gateway, and the same
 * command gives the same text on each. The terminal's `/session` choice survives `/restart` and a
 * quit-and-attach.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { OWNER, telegramConfig } from "../channels/helpers.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { demoConfig } from "../lib/config.ts"
import { ENTRY } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { KEY, type Pty, spawnPty } from "./pty.ts"

setDefaultTimeout(60_000)

const COLS = 100

/** A port that was free a moment ago: the gateway keeps it across /restart, so `drost chat` finds it again. */
function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

/** Types `line` at the chat prompt and returns what was printed before the next prompt. */
async function ask(tty: Pty, line: string, timeoutMs = 15_000): Promise<string> {
  const from = tty.screen().length
  tty.write(`${line}${KEY.enter}`)
  const deadline = Date.now() + timeoutMs
  const echo = line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  const pattern = new RegExp(`${echo}\\r*\\n([\\s\\S]*?)\\r*\\nyou › $`)
  for (;;) {
    const match = tty.screen().slice(from).match(pattern)
    if (match) return match[1]!.replace(/\r+\n/g, "\n")
    if (Date.now() > deadline || tty.proc.exitCode !== null)
      throw new Error(`no answer to ${line}; screen since:\n${tty.screen().slice(from)}`)
    await Bun.sleep(50) // another process's screen: there is no event to wait on
  }
}

/** Sends `line` to the bot as the owner and returns the text of the bot's next message. */
async function askTelegram(fake: FakeTelegram, line: string): Promise<string> {
  const before = fake.chat(OWNER).length
  fake.text(OWNER, line)
  const sent = await fake.waitFor(() => fake.chat(OWNER)[before], 15_000, `answer to ${line}`)
  return sent.text
}

describe("the chat commands are one set with one text on every surface", () => {
  test("terminal chat, drost chat and Telegram answer /help, /providers, /tools and /tool alike", async () => {
    const fake = await FakeTelegram.start()
    const port = freePort()
    await using ws = await workspace({
      config: { ...telegramConfig(fake), controlApi: { port } },
      files: { "hello.txt": "hi from a file\n" },
    })
    const url = `http://127.0.0.1:${port}`
    await using term = spawnPty([process.execPath, ENTRY, "start"], {
      cwd: ws.path,
      env: { NO_COLOR: "1" },
      cols: COLS,
    })
    await term.expect("you › ", 20_000)
    await using attached = spawnPty([process.execPath, ENTRY, "chat", "--url", url], {
      cwd: ws.path,
      env: { NO_COLOR: "1" },
      cols: COLS,
    })
    await attached.expect("you › ", 20_000)

    for (const line of ["/help", "/providers", "/tools", '/tool file.read {"path":"hello.txt"}', "/nope"]) {
      const here = await ask(term, line)
      expect([line, await ask(attached, line)]).toEqual([line, here])
      expect([line, await askTelegram(fake, line)]).toEqual([line, here])
    }
    const tools = await ask(attached, "/tools")
    expect(tools).toContain("file.read")
    expect(tools).not.toContain('"parameters"') // the old drost chat printed GET /tools as JSON
    expect(await ask(attached, '/tool file.read {"path":"hello.txt"}')).toContain("hi from a file")
    expect(await ask(term, "/help")).toContain("/tool <name> [json]")
    // Telegram shows a listing in <pre>, a one-line note as text.
    const listing = fake.chat(OWNER).find((message) => message.text.startsWith("* demo"))!
    expect(listing.html).toStartWith("<pre>")
    expect(fake.chat(OWNER).at(-1)!.html).toBe("unknown command /nope; try /help")

    term.write(`/quit${KEY.enter}`)
    expect(await term.exited).toBe(0)
    fake.stop()
  })

  test("the terminal's /session choice survives /restart, and drost chat's survives detach and attach", async () => {
    const port = freePort()
    await using ws = await workspace({
      config: demoConfig({ controlApi: { port }, tools: { approve: ["file.read"] } }),
      files: { "hello.txt": "hi from a file\n" },
    })
    const url = `http://127.0.0.1:${port}`
    await using term = spawnPty([process.execPath, ENTRY, "start"], { cwd: ws.path, env: { NO_COLOR: "1" } })
    await term.expect("you › ", 20_000)
    const first = term.screen().match(/New session (ses_\w+)/)![1]!
    // A fresh session is the most recently updated one, but the chosen one is what comes back.
    const second = (await ask(term, "/new fresh")).match(/new session (ses_\w+)/)![1]!
    expect(await ask(term, `/session ${first}`)).toContain(`switched to ${first}`)
    term.write(`/restart${KEY.enter}`)
    await term.expect("restarting", 20_000)
    await term.expect(`Resumed session ${first}`, 30_000)
    await term.expect("you › ")

    await using attached = spawnPty([process.execPath, ENTRY, "chat", "--url", url], { cwd: ws.path })
    await attached.expect(`session ${first}`, 20_000)
    await attached.expect("you › ")
    expect(await ask(attached, "/restart")).toBe("restart requested")
    await term.expect(`Resumed session ${first}`, 30_000)
    // drost chat goes on against the restarted gateway; its own choice is kept for the next attach.
    expect(await ask(attached, "/status", 30_000)).toContain(`session: ${first}`)
    expect(await ask(attached, `/session ${second}`)).toContain(`switched to ${second}`)
    // Its approval watch came back with the gateway: a call that needs a person is asked here.
    attached.write(`read hello.txt${KEY.enter}`)
    await attached.expect("file.read", 20_000)
    await attached.expect("waits for your approval", 20_000)
    attached.write(`y${KEY.enter}`)
    await attached.expect("hi from a file", 20_000)
    await attached.expect("you › ")
    attached.write(`/quit${KEY.enter}`)
    expect(await attached.exited).toBe(0)
    await using again = spawnPty([process.execPath, ENTRY, "chat", "--url", url], { cwd: ws.path })
    await again.expect(`session ${second}`, 20_000)
    again.write(`/quit${KEY.enter}`)
    expect(await again.exited).toBe(0)
    term.write(`/quit${KEY.enter}`)
    expect(await term.exited).toBe(0)
  })
})
