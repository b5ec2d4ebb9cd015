import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { ENTRY, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { spawnPty } from "./pty.ts"
import { dashboardScenario, has, until } from "./tui-scenario.ts"

// Real processes (a gateway, the dashboard in a PTY); a loaded CI machine needs more than 5 s.
setDefaultTimeout(120_000)

describe("drost tui (full-screen dashboard attached to a running gateway)", () => {
  test("sessions, streamed chat, switching with ↓, the event log, an approval with Ctrl-A, resize, Ctrl-C detaches", () =>
    // DROST_UPDATE_SCREENSHOTS=1 rewrites docs/tui.svg from this run.
    dashboardScenario([process.execPath, ENTRY], process.env.DROST_UPDATE_SCREENSHOTS === "1"))

  test("a terminal smaller than 60×16 gets drost chat instead", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using gw = await spawnGateway(ws.path)
    await using tty = spawnPty([process.execPath, ENTRY, "tui", "--url", gw.url], { cwd: ws.path, cols: 50 })
    await tty.expect("drost tui: the terminal is 50×40, the dashboard needs 60×16; running drost chat instead")
    await tty.expect(`Attached to ${gw.url}`)
    await tty.expect("you ›")
    tty.write("small screen\r")
    await tty.expect('You said: "small screen"')
    tty.write("/quit\r")
    expect(await tty.exited).toBe(0)
  })

  test("without a terminal it is drost chat: one turn per stdin line, a note on stderr", async () => {
    await using ws = await workspace({ config: demoConfig() })
    await using gw = await spawnGateway(ws.path)
    const proc = Bun.spawn([process.execPath, ENTRY, "tui", "--url", gw.url], {
      cwd: ws.path,
      stdin: new Blob(["piped hello\n"]),
      stdout: "pipe",
      stderr: "pipe",
    })
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    expect(stderr).toBe("drost tui: not a terminal; running drost chat instead\n")
    expect(stdout).toContain('You said: "piped hello"')
    expect(code).toBe(0)
  })
})

describe("drost tui: no gateway", () => {
  test("in a terminal with nothing answering at --url: one clear line before the screen is taken, exit 1", async () => {
    await using ws = await workspace({ config: demoConfig() })
    ws.write(".drost/control-token", "drost_0123456789abcdef0123\n")
    await using tty = spawnPty([process.execPath, ENTRY, "tui", "--url", "http://127.0.0.1:9"], { cwd: ws.path })
    await tty.expect("drost: no gateway answers at http://127.0.0.1:9")
    await tty.expect("start one with `drost start` or `drost service install`")
    expect(await tty.exited).toBe(1)
  })
})

describe("drost tui: a turn in progress", () => {
  test("the answer streams in word by word; Esc and /stop abort the turn", async () => {
    // The demo provider waits 150 ms before each word: the answer is seen growing, and is still running.
    await using ws = await workspace({ config: demoConfig({}, { delayMs: 150 }) })
    await using gw = await spawnGateway(ws.path)
    const cols = 100
    await using tty = spawnPty([process.execPath, ENTRY, "tui", "--url", gw.url, "--new"], { cwd: ws.path, cols })
    await until(tty, cols, has("connected to"))
    tty.write("take your time")
    await until(tty, cols, has("you › take your time█"))
    tty.write("\r")
    // Part of the answer on screen while the turn still runs: streamed, not printed at the end.
    const partial = await until(tty, cols, (now) => has("● turn running")(now) && has("drost › I'm Drost's")(now))
    expect(partial.join("\n")).not.toContain("configure a real provider")
    // The list marks the session busy (the gateway's lanes, from /status at each turn boundary).
    await until(tty, cols, has("│›●terminal (tui)"))
    tty.write("\x1b")
    const rows = await until(
      tty,
      cols,
      (now) => !has("● turn running")(now) && has("[turn failed: aborted by user]")(now),
    )
    expect(rows.join("\n")).not.toContain("configure a real provider")
    await until(tty, cols, has("│› terminal (tui)"))
    const turns = (await (await gw.api("/sessions?limit=1")).json()) as { sessions: { id: string }[] }
    const session = (await (await gw.api(`/sessions/${turns.sessions[0]!.id}`)).json()) as {
      turns: { status: string; error: string }[]
    }
    expect(session.turns[0]).toMatchObject({ status: "failed", error: "aborted by user" })

    // /stop, typed while the next turn runs, is the gateway's command and aborts it too.
    tty.write("once more")
    await until(tty, cols, has("you › once more█"))
    tty.write("\r")
    await until(tty, cols, has("● turn running"))
    tty.write("/stop")
    await until(tty, cols, has("you › /stop█"))
    tty.write("\r")
    const stopped = await until(
      tty,
      cols,
      (now) => !has("● turn running")(now) && now.filter((row) => row.includes("[turn failed: aborted")).length === 2,
    )
    expect(stopped.join("\n")).toContain("│ you › once more")
    tty.write("\x03")
    expect(await tty.exited).toBe(0)
  })
})
