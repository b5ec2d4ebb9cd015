import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { ENTRY, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { KEY, spawnPty } from "./pty.ts"

// Each test spawns real processes (CLI runs, a gateway); a loaded CI machine needs more than 5 s.
setDefaultTimeout(30_000)

async function chat(cwd: string, input: string, args: string[] = []) {
  const proc = Bun.spawn([process.execPath, ENTRY, "chat", ...args], {
    cwd,
    stdin: new Blob([input]),
    stdout: "pipe",
    stderr: "pipe",
    env: process.env,
  })
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000)
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  return { stdout, stderr, code }
}

describe("drost chat (attached to a running gateway)", () => {
  test("without a TTY: one turn per stdin line, streamed over SSE with tool activity, slash commands, exit at EOF; the gateway keeps running", async () => {
    await using ws = await workspace({ config: demoConfig(), files: { "notes.txt": "attached hello\n" } })
    await using gw = await spawnGateway(ws.path)
    const result = await chat(ws.path, "read notes.txt\n/status\n/new fresh\nhello again\n", ["--url", gw.url])
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("⚙ file.read")
    expect(result.stdout).toContain("✓ file.read")
    expect(result.stdout).toContain("attached hello")
    // The commands are the gateway's own (the same text as drost start's chat and Telegram).
    expect(result.stdout).toMatch(/state: running\n/)
    expect(result.stdout).toMatch(/\nsession: ses_\w+ \(4 messages, provider demo/)
    const fresh = result.stdout.match(/new session (ses_\w+)/)![1]!
    expect(result.stdout).toContain('You said: "hello again"')
    const sessions = (await (await gw.api("/sessions")).json()) as { sessions: { id: string; channel: string }[] }
    expect(sessions.sessions.length).toBe(2)
    expect(sessions.sessions.find((session) => session.id === fresh)?.channel).toBe("terminal")
    expect((await gw.api("/healthz")).status).toBe(200)

    // A second attach continues the session the first one left current (/new made it current).
    const again = await chat(ws.path, "/status\n", ["--url", gw.url])
    expect(again.stdout).toContain(`session: ${fresh} (2 messages, provider demo`)
  })

  test("in a terminal: prompt, streamed answer, /quit detaches and the gateway stays healthy", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using gw = await spawnGateway(ws.path)
    await using tty = spawnPty([process.execPath, ENTRY, "chat", "--url", gw.url, "--new"], { cwd: ws.path })
    await tty.expect(`Attached to ${gw.url}`)
    await tty.expect("you ›")
    tty.write("hi there\r")
    await tty.expect('You said: "hi there"')
    await tty.expect("you ›")
    // Like drost start's chat: one Ctrl-C at an idle prompt only says how to leave.
    tty.write(KEY.ctrlC)
    await tty.expect("press Ctrl-C again to detach, or type /quit")
    await tty.expect("you ›")
    tty.write(`/quit${KEY.enter}`)
    await tty.expect("Detached; the gateway keeps running")
    expect(await tty.exited).toBe(0)
    expect((await gw.api("/healthz")).status).toBe(200)
  })

  test("no gateway running: a clear error, exit 1", async () => {
    await using ws = await workspace({ config: demoConfig() })
    ws.write(".drost/control-token", "drost_0123456789abcdef0123\n")
    const result = await chat(ws.path, "hi\n", ["--url", "http://127.0.0.1:9"])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("no gateway answers at http://127.0.0.1:9")
  })
})
