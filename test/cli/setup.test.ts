import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs"
import { ENTRY, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { fakeOpenAI, fakeTelegram } from "./fakes.ts"
import { KEY, spawnPty } from "./pty.ts"

// Each test spawns real processes (CLI runs, a gateway); a loaded CI machine needs more than 5 s.
setDefaultTimeout(30_000)

const KEY_VALUE = "sk-test-wizard-0123456789"
const BOT_TOKEN = "123456:fake-bot-token"

const mode = (file: string) => statSync(file).mode & 0o777

describe("drost setup in a pseudo-terminal", () => {
  test("the wizard, against fake providers, writes a config on which drost start answers through the chosen provider", async () => {
    await using ws = await workspace()
    await using openai = fakeOpenAI({ key: KEY_VALUE, reply: "hello from the fake" })
    await using telegram = fakeTelegram({ token: BOT_TOKEN })
    {
      await using tty = spawnPty([process.execPath, ENTRY, "setup", "--telegram-api-root", telegram.url], {
        cwd: ws.path,
      })
      await tty.expect("Which model providers")
      // Options: OpenAI, Anthropic, xAI, OpenAI-compatible, Demo (preselected). Pick compatible, drop demo.
      tty.write(KEY.down + KEY.down + KEY.down + KEY.space + KEY.down + KEY.space + KEY.enter)
      await tty.expect("Base URL of the OpenAI-compatible server")
      tty.write(`${openai.url}\r`)
      await tty.expect("API key")
      tty.write("sk-wrong\r")
      await tty.expect("401: the key was rejected")
      await tty.expect("What now?")
      tty.write(KEY.enter) // "Enter it again": the URL (prefilled with the last one) and the key again
      await tty.expect("Base URL")
      tty.write(KEY.enter)
      await tty.expect("API key")
      tty.write(`${KEY_VALUE}\r`)
      await tty.expect("key accepted, 1 model")
      // The server lists one model: it is taken, not asked for.
      await tty.expect("model: fake-model (the only one the server lists)")
      await tty.expect("Connect a Telegram bot?")
      tty.write(`y${KEY.enter}`)
      await tty.expect("Bot token")
      tty.write(`${BOT_TOKEN}\r`)
      await tty.expect("@fake_bot")
      await tty.expect("Telegram user id")
      tty.write("4242\r")
      await tty.expect("Control API port")
      tty.write(`${KEY.backspace.repeat(4)}0\r`)
      await tty.expect("shown once")
      expect(await tty.exited).toBe(0)
      // Keys are masked on screen.
      expect(tty.screen()).not.toContain(KEY_VALUE)
      expect(tty.screen()).not.toContain(BOT_TOKEN)
    }
    const config = readFileSync(ws.file("drost.config.ts"), "utf8")
    expect(config).toContain('"kind": "openai-compatible"')
    expect(config).toContain(openai.url)
    expect(config).toContain('"allowedUsers"')
    expect(config).not.toContain(KEY_VALUE)
    expect(mode(ws.file(".drost/auth-profiles.json"))).toBe(0o600)
    expect(mode(ws.file(".drost/control-token"))).toBe(0o600)
    const auth = JSON.parse(readFileSync(ws.file(".drost/auth-profiles.json"), "utf8"))
    expect(auth.profiles.compatible).toMatchObject({ kind: "openai-compatible", apiKey: KEY_VALUE })
    expect(auth.profiles.telegram).toMatchObject({ kind: "telegram", token: BOT_TOKEN })
    for (const file of ["prompts/system.md", "tools/clock.ts", "memory/README.md", ".gitignore"])
      expect(existsSync(ws.file(file))).toBe(true)

    await using gw = await spawnGateway(ws.path)
    const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const turn = (await (
      await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hi" } })
    ).json()) as { status: string; text: string }
    expect(turn).toMatchObject({ status: "completed", text: "hello from the fake" })
    expect(openai.seen).toContain("POST /v1/chat/completions")
    expect(await gw.stop()).toBe(0)
  }, 30_000)

  test("Ctrl-C at the first question cancels with exit 130 and writes nothing", async () => {
    await using ws = await workspace()
    await using tty = spawnPty([process.execPath, ENTRY, "setup"], { cwd: ws.path })
    await tty.expect("Which model providers")
    tty.write(KEY.ctrlC)
    expect(await tty.exited).toBe(130)
    expect(tty.screen()).toContain("Setup cancelled")
    expect(readdirSync(ws.path)).toEqual([])
  })

  test("drost start in an empty folder offers the wizard; declining starts the demo chat", async () => {
    await using ws = await workspace()
    await using tty = spawnPty([process.execPath, ENTRY, "start", "--port", "0"], { cwd: ws.path })
    await tty.expect("No drost.config.ts in this folder")
    tty.write(`n${KEY.enter}`)
    await tty.expect("offline demo provider")
    await tty.expect("you ›")
    tty.write("/quit\r")
    expect(await tty.exited).toBe(0)
    expect(existsSync(ws.file("drost.config.ts"))).toBe(false)
  })
})

/**
 * The 2 s budget. Run from source, most of it goes to loading the modules. On a loaded machine that
 * alone can take longer, so the budget then becomes "no more than 1 s beyond what `drost --version`
 * takes right now". A prompt that waits would still blow through it (runCli kills at 5 s).
 */
async function budgetMs(cwd: string): Promise<number> {
  const started = performance.now()
  await runCli(["--version"], { cwd })
  return Math.max(2000, performance.now() - started + 1000)
}

describe("drost setup without a terminal", () => {
  test("never waits: stdin at /dev/null exits 2 within 2 s listing the flags", async () => {
    await using ws = await workspace()
    const budget = await budgetMs(ws.path)
    const started = performance.now()
    const result = await runCli(["setup"], { cwd: ws.path, timeoutMs: 5000 })
    const elapsed = performance.now() - started
    expect(result.code).toBe(2)
    expect(elapsed).toBeLessThan(budget)
    for (const flag of ["--yes", "--provider", "--openai-key", "OPENAI_API_KEY", "--telegram-token", "--port"])
      expect(result.stderr).toContain(flag)
    expect(readdirSync(ws.path)).toEqual([])
  })

  test("never waits on an open, silent pipe either", async () => {
    await using ws = await workspace()
    const budget = await budgetMs(ws.path)
    const started = performance.now()
    const result = await runCli(["setup"], { cwd: ws.path, stdin: "pipe", timeoutMs: 5000 })
    expect(result.code).toBe(2)
    expect(performance.now() - started).toBeLessThan(budget)
  })

  test("--yes runs on flags and env, checks the key, and never overwrites without --force", async () => {
    await using ws = await workspace()
    await using openai = fakeOpenAI({ key: KEY_VALUE })
    await using telegram = fakeTelegram({ token: BOT_TOKEN })
    const args = [
      "setup",
      "--yes",
      "--provider",
      "openai-compatible,demo",
      "--compatible-url",
      openai.url,
      "--telegram-owner",
      "99",
      "--telegram-api-root",
      telegram.url,
      "--port",
      "0",
    ]
    const env = { DROST_COMPATIBLE_API_KEY: KEY_VALUE, TELEGRAM_BOT_TOKEN: BOT_TOKEN }
    const first = await runCli([...args, "--telegram"], { cwd: ws.path, env })
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("✓ OpenAI-compatible server: key accepted")
    expect(first.stdout).toContain("✓ Telegram bot: @fake_bot")
    expect(first.stdout).toContain("wrote  drost.config.ts")
    expect(first.stdout + first.stderr).not.toContain(KEY_VALUE)
    expect(telegram.seen).toContain("GET /getMe")

    ws.write("prompts/system.md", "my own prompt\n")
    const second = await runCli(args, { cwd: ws.path, env })
    expect(second.code).toBe(0)
    expect(second.stdout).toContain("kept (exists; --force overwrites)  prompts/system.md")
    expect(second.stdout).toContain("kept   the existing Control API admin token")
    expect(readFileSync(ws.file("prompts/system.md"), "utf8")).toBe("my own prompt\n")

    const forced = await runCli([...args, "--force"], { cwd: ws.path, env })
    expect(forced.code).toBe(0)
    expect(readFileSync(ws.file("prompts/system.md"), "utf8")).not.toBe("my own prompt\n")
  })

  test("--yes with a rejected key fails with a fix instead of writing a broken config", async () => {
    await using ws = await workspace()
    await using openai = fakeOpenAI({ key: KEY_VALUE })
    const result = await runCli(["setup", "--yes", "--provider", "openai", "--openai-base-url", openai.url], {
      cwd: ws.path,
      env: { OPENAI_API_KEY: "sk-bad" },
    })
    expect(result.code).toBe(2)
    expect(result.stdout).toContain("✗ OpenAI: 401: the key was rejected")
    expect(result.stderr).toContain("--skip-probe")
    expect(existsSync(ws.file("drost.config.ts"))).toBe(false)
  })
})
