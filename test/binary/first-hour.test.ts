/**
 * The first hour, as a new user lives it (issue 15, "done when"): the compiled binary in an empty folder
 * under an empty HOME, nothing else inherited, against a fake OpenAI-compatible server on 127.0.0.1.
 * Setup in a terminal without typing a model name, doctor, start with its chat, a turn, a /session
 * switch that survives /restart, `drost chat` attached with /tool and /providers, `drost status --json`,
 * `drost logs`, `drost stop`. Each step is one the README tells a newcomer to take.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { KEY, spawnPty } from "../cli/pty.ts"
import { type FakeOpenAI, fakeOpenAI, reply } from "../fake/openai.ts"
import { prebuiltOr } from "./binary.ts"

setDefaultTimeout(120_000)

const root = () => process.env.DROST_TEST_ROOT ?? "/tmp"

let binary: string
let llm: FakeOpenAI
let folder: string
let home: string
let env: Record<string, string>

/** A port free right now (the wizard checks it again before writing it). */
function freePort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}

/** A non-interactive command of the binary, with the same bare environment. */
async function drost(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([binary, ...args], { cwd: folder, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, stdout, stderr }
}

beforeAll(async () => {
  binary = (await prebuiltOr("drost-first-hour")).file
  llm = await fakeOpenAI({ key: null, models: ["qwen3-8b", "llama-3.3-70b"] })
  folder = mkdtempSync(join(root(), "first-hour-"))
  home = mkdtempSync(join(root(), "first-hour-home-"))
  const bin = join(root(), "first-hour-path")
  mkdirSync(bin, { recursive: true })
  // As `env -i` would leave it: no bun, no node on PATH, an empty HOME, a terminal type for the PTY.
  env = { PATH: bin, HOME: home, TERM: "xterm-256color", NO_COLOR: "1", DROST_LOG_LEVEL: "warn" }
})

// The binary stays: test/cli/tui-binary.test.ts reuses this build (test/binary/build.test.ts clears bin/).
afterAll(async () => {
  await llm?.[Symbol.asyncDispose]()
})

describe("the first hour with the compiled binary", () => {
  test("setup → doctor → start, a turn, /session, /restart → drost chat → status, logs, stop", async () => {
    const port = freePort()
    // 1. Setup in a terminal: the OpenAI-compatible server's models are listed; the second is picked
    //    with the arrow keys, no model name typed.
    {
      await using tty = spawnPty([binary, "setup"], { cwd: folder, env, cols: 100 })
      await tty.expect("Which model providers")
      // OpenAI, Anthropic, xAI, OpenAI-compatible, Demo (preselected): pick compatible, drop demo.
      tty.write(KEY.down + KEY.down + KEY.down + KEY.space + KEY.down + KEY.space + KEY.enter)
      await tty.expect("Base URL of the OpenAI-compatible server")
      tty.write(`${llm.baseUrl}\r`)
      await tty.expect("API key")
      tty.write(KEY.enter)
      await tty.expect("Which model?")
      await tty.expect("llama-3.3-70b")
      tty.write(KEY.down + KEY.enter)
      await tty.expect("Connect a Telegram bot?")
      tty.write(KEY.enter)
      await tty.expect("Control API port")
      tty.write(`${KEY.backspace.repeat(8)}${port}\r`)
      await tty.expect("shown once")
      expect(await tty.exited).toBe(0)
    }
    expect(readFileSync(join(folder, "drost.config.ts"), "utf8")).toContain('"model": "llama-3.3-70b"')
    expect(readdirSync(home)).toEqual([])

    // 2. doctor runs the checks start runs: all pass.
    const doctor = await drost(["doctor"])
    expect(doctor.stdout).toContain("✓ provider compatible (default)")
    expect(doctor.code).toBe(0)

    // 3. start: the terminal chat, a turn against the fake.
    llm.always(reply().text("Hello from llama."))
    const start = spawnPty([binary, "start"], { cwd: folder, env, cols: 100 })
    try {
      await start.expect("Ctrl-C", 30_000)
      start.write("hi there\r")
      await start.expect("Hello from llama.", 30_000)
      expect(llm.requests("chat").at(-1)?.body).toMatchObject({ model: "llama-3.3-70b" })

      // 4. A second session, then back to the first with /session; the choice survives /restart.
      start.write("/sessions\r")
      await start.expect(/\* (ses_\w+)/)
      const first = start
        .screen()
        .match(/\* (ses_\w+)/g)!
        .at(-1)!
        .slice(2)
      start.write("/new fresh\r")
      await start.expect(/new session (ses_\w+)/)
      const second = start.screen().match(/new session (ses_\w+)/)![1]!
      expect(second).not.toBe(first)
      start.write(`/session ${first}\r`)
      await start.expect(`switched to ${first}`)
      start.write("/restart\r")
      await start.expect(/restart/i, 30_000)
      await start.expect(first, 30_000)
      start.write("/session\r")
      await start.expect(`current session: ${first}`, 30_000)

      // 5. drost chat from another terminal: the same commands, /tool runs the setup's example tool.
      {
        await using chat = spawnPty([binary, "chat"], { cwd: folder, env, cols: 100 })
        await chat.expect(first, 30_000)
        chat.write("/providers\r")
        await chat.expect("compatible")
        await chat.expect("llama-3.3-70b")
        chat.write("/tool clock {}\r")
        await chat.expect(/\d{1,2}:\d{2}:\d{2}/, 30_000)
        chat.write("/quit\r")
        expect(await chat.exited).toBe(0)
      }

      // 6. status --json, logs, stop.
      const status = await drost(["status", "--json"])
      expect(status.code).toBe(0)
      const parsed = JSON.parse(status.stdout) as { state: string; sessions: number }
      expect(parsed.state).toBe("running")
      expect(parsed.sessions).toBeGreaterThanOrEqual(2)
      const logs = await drost(["logs", "-n", "50"])
      expect(logs.code).toBe(0)
      expect(logs.stdout).toContain("session.turn.completed")
      const stop = await drost(["stop"])
      expect(stop.code).toBe(0)
      expect(await start.exited).toBe(0)
      expect((await drost(["status"])).code).not.toBe(0)
    } finally {
      start.proc.kill("SIGKILL")
    }
  })
})
