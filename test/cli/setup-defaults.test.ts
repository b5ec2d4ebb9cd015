/**
 * Issue 15 item 2: the wizard's defaults. In a pseudo-terminal: after a real provider is added, the
 * default-provider question pre-selects it (not Demo); a port another program holds is refused with the
 * next free one named; `drost start --port N` makes N the port question's default; declining the
 * first-run wizard is remembered, so the next start does not ask again.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { fakeOpenAI } from "../fake/openai.ts"
import { ENTRY, runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { KEY, spawnPty } from "./pty.ts"

setDefaultTimeout(30_000)

const config = (path: string) => readFileSync(path, "utf8")

/** A port that is free right now (bound, then released). */
function freePort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}

function holdPort(): AsyncDisposable & { port: number } {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("another program") })
  return { port: server.port!, [Symbol.asyncDispose]: async () => void (await server.stop(true)) }
}

describe("setup defaults in a pseudo-terminal", () => {
  test("with a real provider and the demo, new sessions default to the real one; a taken port is refused", async () => {
    await using llm = await fakeOpenAI({ key: null, models: ["m1"] })
    await using held = holdPort()
    await using ws = await workspace()
    {
      await using tty = spawnPty([process.execPath, ENTRY, "setup"], { cwd: ws.path })
      await tty.expect("Which model providers")
      // OpenAI, Anthropic, xAI, OpenAI-compatible, Demo (preselected): add compatible, keep the demo.
      tty.write(KEY.down + KEY.down + KEY.down + KEY.space + KEY.enter)
      await tty.expect("Base URL")
      tty.write(`${llm.baseUrl}\r`)
      await tty.expect("API key")
      tty.write(KEY.enter)
      await tty.expect("model: m1")
      await tty.expect("Which one do new sessions use?")
      tty.write(KEY.enter) // the pre-selected answer
      await tty.expect("Connect a Telegram bot?")
      tty.write(KEY.enter)
      await tty.expect("Control API port")
      tty.write(`${KEY.backspace.repeat(8)}${held.port}\r`)
      await tty.expect(`${held.port} is in use`)
      tty.write(`${KEY.backspace.repeat(8)}0\r`)
      await tty.expect("shown once")
      expect(await tty.exited).toBe(0)
    }
    const written = config(ws.file("drost.config.ts"))
    expect(written).toContain('"defaultSessionProvider": "compatible"')
    expect(written).toContain('"port": 0')
  })

  test("drost start --port N offers N as the port; the gateway then serves on it", async () => {
    const port = freePort()
    await using ws = await workspace()
    await using tty = spawnPty([process.execPath, ENTRY, "start", "--port", String(port)], { cwd: ws.path })
    await tty.expect("No drost.config.ts in this folder")
    tty.write(KEY.enter) // yes
    await tty.expect("Which model providers")
    tty.write(KEY.enter) // the demo, pre-selected
    await tty.expect("Connect a Telegram bot?")
    tty.write(KEY.enter)
    await tty.expect("Control API port")
    tty.write(KEY.enter) // the offered default
    await tty.expect("you ›", 20_000)
    expect(config(ws.file("drost.config.ts"))).toContain(`"port": ${port}`)
    expect(tty.screen()).toContain(`127.0.0.1:${port}/control/v1`)
    tty.write("/quit\r")
    expect(await tty.exited).toBe(0)
  })

  test("declining the first-run wizard is remembered: the next start does not ask again", async () => {
    await using ws = await workspace()
    {
      await using tty = spawnPty([process.execPath, ENTRY, "start", "--port", "0"], { cwd: ws.path })
      await tty.expect("No drost.config.ts in this folder")
      tty.write(`n${KEY.enter}`)
      await tty.expect("Not asking again")
      await tty.expect("you ›", 20_000)
      tty.write("/quit\r")
      expect(await tty.exited).toBe(0)
    }
    expect(existsSync(ws.file("drost.config.ts"))).toBe(false)
    await using again = spawnPty([process.execPath, ENTRY, "start", "--port", "0"], { cwd: ws.path })
    await again.expect("you ›", 20_000)
    expect(again.screen()).not.toContain("Set up a provider now?")
    expect(again.screen()).toContain("run drost setup")
    again.write("/quit\r")
    expect(await again.exited).toBe(0)
  })
})

describe("setup --yes and the port", () => {
  test("--port naming a port another program holds exits 2 naming a free one, and writes nothing", async () => {
    await using held = holdPort()
    await using ws = await workspace()
    const result = await runCli(["setup", "--yes", "--provider", "demo", "--port", String(held.port)], {
      cwd: ws.path,
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`--port ${held.port}: 127.0.0.1:${held.port} is in use`)
    expect(result.stderr).toMatch(/\d+ is free: --port \d+, or --port 0/)
    expect(existsSync(ws.file("drost.config.ts"))).toBe(false)
  })

  test("without --port, a taken 7420 moves the port to the next free one and says so", async () => {
    // Hold 7420 if it is free; if something else holds it already, the case is the same.
    let server: ReturnType<typeof Bun.serve> | null = null
    try {
      server = Bun.serve({ hostname: "127.0.0.1", port: 7420, fetch: () => new Response("another program") })
    } catch {
      server = null
    }
    try {
      await using ws = await workspace()
      const result = await runCli(["setup", "--yes", "--provider", "demo"], { cwd: ws.path })
      expect(result.code).toBe(0)
      const moved = result.stdout.match(/Control API port (\d+) \(7420 is in use; \d+ is free\)/)?.[1]
      expect(moved).toBeDefined()
      expect(Number(moved)).toBeGreaterThan(7420)
      expect(config(ws.file("drost.config.ts"))).toContain(`"port": ${moved}`)
    } finally {
      await server?.stop(true)
    }
  })
})
