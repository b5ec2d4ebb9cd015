/**
 * The dashboard as a person uses it, run by the source tree's tests and the compiled binary's: drives
 * `drost tui` in a PTY against a live gateway (demo provider) and reads the screen through vt.ts.
 */
import { expect } from "bun:test"
import { join } from "node:path"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { type Pty, spawnPty } from "./pty.ts"
import { screenSvg } from "./screen-svg.ts"
import { render } from "./vt.ts"

const CTRL_A = "\x01"
const CTRL_N = "\x0e"
const CTRL_X = "\x18"

/** The screen a person sees now: the raw output since `from` replayed by vt.ts at the given width. */
export const screen = (tty: Pty, cols: number, from = 0) => render(tty.raw().slice(from), cols)

/** Waits until the replayed screen satisfies `ok`; fails with the screen when it never does. */
export async function until(tty: Pty, cols: number, ok: (rows: string[]) => boolean, from = 0, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = screen(tty, cols, from)
    if (ok(rows)) return rows
    if (tty.proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`tui: the screen never matched (exit ${tty.proc.exitCode}):\n${rows.join("\n")}`)
    await Bun.sleep(50)
  }
}
export const has = (text: string) => (rows: string[]) => rows.some((row) => row.includes(text))

interface Created {
  id: string
}

/**
 * Sessions, streamed chat, switching with ↓, the event log, an approval with Ctrl-A, resize, Ctrl-C.
 * `drost`: how to run the CLI (bun + src/index.ts, or the binary); the gateway runs the same way.
 */
export async function dashboardScenario(drost: string[], screenshot = false) {
  await using ws = await workspace({
    config: demoConfig({ tools: { approve: ["file.read"] } }),
    files: { "hello.txt": "hi from a file\n" },
  })
  await using gw = await spawnGateway(ws.path, { command: drost })
  const make = async (title: string) =>
    (await (await gw.api("/sessions", { method: "POST", json: { title } })).json()) as Created
  const alpha = await make("alpha notes")
  const beta = await make("beta plans")

  const cols = 110
  await using tty = spawnPty([...drost, "tui", "--url", gw.url, "--session", alpha.id], {
    cwd: ws.path,
    cols,
  })
  // The session list shows both; the status bar names the open session, the log the live stream.
  let rows = await until(tty, cols, (now) => has("connected to")(now) && has("beta plans")(now))
  expect(rows.join("\n")).toContain("Sessions (2)")
  expect(rows.find((row) => row.includes("alpha notes"))).toContain("› alpha notes (0)")
  expect(rows[0]).toContain(`drost tui · running │ ${alpha.id} │ provider demo │ tokens 0/0`)

  // A message: the answer streams into the chat pane, the turn's events arrive in the log.
  tty.write("hello dashboard")
  await until(tty, cols, has("you › hello dashboard█"))
  tty.write("\r")
  rows = await until(tty, cols, (now) => has('said: "hello dashboard"')(now) && has("session.turn.completed")(now))
  expect(rows.join("\n")).toContain("│ you › hello dashboard")
  expect(rows.join("\n")).toContain("drost › I'm Drost's offline demo provider")
  await until(tty, cols, has("alpha notes (2)"))

  // ↓ switches to the next session: its (empty) chat, its id in the status bar, the mark moves.
  tty.write("\x1b[B")
  rows = await until(tty, cols, (now) => now[0]!.includes(beta.id))
  await until(tty, cols, (now) => !has("hello dashboard")(now))
  expect(screen(tty, cols).find((row) => row.includes("beta plans"))).toContain("› beta plans")

  // A call of a tools.approve tool waits; Ctrl-A approves it and the turn goes on with the file.
  tty.write("read hello.txt")
  await until(tty, cols, has("you › read hello.txt█"))
  tty.write("\r")
  rows = await until(tty, cols, has("1 waiting for approval: Ctrl-A approves"))
  expect(rows.join("\n")).toMatch(/ {2}file\.read \{"path":"hello\.txt".*\} · \w{6}\n/)
  expect(rows.join("\n")).toContain("approval.requested")
  tty.write(CTRL_A)
  rows = await until(tty, cols, (now) => has("hi from a file")(now) && !has("waiting for approval")(now))
  expect(rows.at(-2)).toBe("file.read: approve")
  expect(rows.join("\n")).toMatch(/✓ file\.read · [\d.]+ ms/)
  expect(rows.join("\n")).toContain("│ drost › Here is what file.read returned")
  const stored = (await (await gw.api(`/sessions/${beta.id}`)).json()) as { messages: { parts: unknown[] }[] }
  expect(JSON.stringify(stored.messages)).toContain("hi from a file")

  // The status bar's tokens follow the finished turn.
  await until(tty, cols, (now) => !now[0]!.includes("tokens 0/0"))
  if (screenshot)
    await Bun.write(join(import.meta.dir, "../../docs/tui.svg"), screenSvg(screen(tty, cols).slice(0, 39), cols))

  // Ctrl-X denies the next waiting call: the model is told, the chat shows the refused call.
  tty.write("read hello.txt")
  await until(tty, cols, has("you › read hello.txt█"))
  tty.write("\r")
  await until(tty, cols, has("1 waiting for approval"))
  tty.write(CTRL_X)
  rows = await until(tty, cols, (now) => has("✗ file.read")(now) && !has("waiting for approval")(now))
  expect(rows.at(-2)).toBe("file.read: deny")
  await until(tty, cols, (now) => !now[0]!.includes("turn running"))

  // Resize (the PTY's new size reaches the child as SIGWINCH): the next frame is laid out at 80×30.
  const mark = tty.raw().length
  tty.proc.terminal!.resize(80, 30)
  rows = await until(tty, 80, (now) => now.some((row) => row.startsWith("┌") && row.endsWith("┐")), mark)
  // Both panes' top borders fill exactly the new width; nothing is wider, and the frame fits 30 rows.
  expect(rows.find((row) => row.startsWith("┌"))!.length).toBe(80)
  expect(rows.filter((row) => row.length > 80)).toEqual([])
  expect(rows.filter((row) => row.length > 0).length).toBeLessThanOrEqual(30)
  expect(rows[0]).toContain(beta.id.slice(0, 20))
  expect(rows.join("\n")).toContain("1  hi from a file")
  expect(rows.join("\n")).toContain("│ you › read hello.txt")

  // Ctrl-N opens a new session: listed, named in the status bar, empty.
  tty.write(CTRL_N)
  rows = await until(tty, 80, has("Sessions (3)"), mark)
  rows = await until(
    tty,
    80,
    (now) => !now[0]!.includes(beta.id.slice(0, 20)) && has("› terminal (tui) (0)")(now),
    mark,
  )
  expect(rows.join("\n")).not.toContain("hi from a file")

  // Shrunk below 60×16 while open: one line says so instead of a broken layout; Ctrl-C still leaves.
  const small = tty.raw().length
  tty.proc.terminal!.resize(40, 10)
  rows = await until(tty, 40, has("terminal too small (40×10"), small)
  expect(rows.filter((row) => row.length > 0).length).toBe(1)

  tty.write("\x03")
  await tty.expect("Detached; the gateway keeps running.")
  expect(await tty.exited).toBe(0)
  expect((await gw.api("/healthz")).status).toBe(200)
}
