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
    const result = await chat(ws.path, "read notes.txt\n/status\n/new\nhello again\n", ["--url", gw.url])
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("⚙ file.read")
    expect(result.stdout).toContain("✓ file.read")
    expect(result.stdout).toContain("attached hello")
    expect(result.stdout).toMatch(/gateway running · \d+ sessions/)
    expect(result.stdout).toMatch(/new session ses_/)
    expect(result.stdout).toContain('You said: "hello again"')
    const sessions = (await (await gw.api("/sessions?q=attached")).json()) as { sessions: { messageCount: number }[] }
    expect(sessions.sessions.length).toBe(2)
    expect((await gw.api("/healthz")).status).toBe(200)

    // A second attach continues the most recent attached session.
    const again = await chat(ws.path, "/status\n", ["--url", gw.url])
    expect(again.stdout).toMatch(/session ses_\w+ on demo/)
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
