/**
 * Issue 15 item 1: setup never writes a config its own gateway refuses. Against a fake OpenAI-compatible
 * server on 127.0.0.1 (GET /v1/models, streaming chat completions, no key): the wizard picks the model
 * from the server's list, `--yes` takes the only (or first) one or refuses clearly, `drost doctor` fails
 * exactly where `drost start` cannot build the provider, and a gateway without a usable provider still
 * chats and answers each turn with the reason and the fix.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { ENTRY, runCli, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { KEY, spawnPty } from "./pty.ts"

setDefaultTimeout(30_000)

const modelOf = (file: string) => readFileSync(file, "utf8").match(/"model": "([^"]+)"/)?.[1] ?? null

describe("setup against an OpenAI-compatible server", () => {
  test("the wizard lists the server's models and writes the one picked; doctor passes", async () => {
    await using llm = await fakeOpenAI({ key: null, models: ["qwen3-8b", "llama-3.3-70b"] })
    await using ws = await workspace()
    {
      await using tty = spawnPty([process.execPath, ENTRY, "setup"], { cwd: ws.path })
      await tty.expect("Which model providers")
      // OpenAI, Anthropic, xAI, OpenAI-compatible, Demo (preselected): pick compatible, drop demo.
      tty.write(KEY.down + KEY.down + KEY.down + KEY.space + KEY.down + KEY.space + KEY.enter)
      await tty.expect("Base URL of the OpenAI-compatible server")
      tty.write(`${llm.baseUrl}\r`)
      await tty.expect("API key")
      tty.write(KEY.enter)
      await tty.expect("2 models")
      await tty.expect("Which model?")
      await tty.expect("llama-3.3-70b")
      tty.write(KEY.down + KEY.enter)
      await tty.expect("Connect a Telegram bot?")
      tty.write(KEY.enter)
      await tty.expect("Control API port")
      tty.write(`${KEY.backspace.repeat(8)}0\r`)
      await tty.expect("shown once")
      expect(await tty.exited).toBe(0)
    }
    expect(modelOf(ws.file("drost.config.ts"))).toBe("llama-3.3-70b")
    const doctor = await runCli(["doctor", "--offline"], { cwd: ws.path })
    expect(doctor.stdout).toContain("✓ provider compatible (default)")
    expect(doctor.code).toBe(0)
  })

  test("--yes without a model name takes the server's only model; doctor, start and a turn work", async () => {
    await using llm = await fakeOpenAI({ key: null, models: ["only-model"] })
    await using ws = await workspace()
    const setup = await runCli(
      ["setup", "--yes", "--provider", "openai-compatible", "--compatible-url", llm.baseUrl, "--port", "0"],
      { cwd: ws.path },
    )
    expect(setup.code).toBe(0)
    expect(setup.stdout).toContain("model: only-model (the only one the server lists)")
    expect(modelOf(ws.file("drost.config.ts"))).toBe("only-model")
    expect((await runCli(["doctor"], { cwd: ws.path })).code).toBe(0)

    llm.queue(reply().text("hello from the only model"))
    await using gw = await spawnGateway(ws.path)
    const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
    const turn = (await (
      await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hi" } })
    ).json()) as { status: string; text: string }
    expect(turn).toMatchObject({ status: "completed", text: "hello from the only model" })
    expect(llm.requests("chat")[0]?.body).toMatchObject({ model: "only-model" })
  })

  test("--yes with several models takes the first and says how to pick another", async () => {
    await using llm = await fakeOpenAI({ key: null, models: ["first", "second"] })
    await using ws = await workspace()
    const setup = await runCli(
      ["setup", "--yes", "--provider", "openai-compatible", "--compatible-url", llm.baseUrl, "--port", "0"],
      { cwd: ws.path },
    )
    expect(setup.code).toBe(0)
    expect(setup.stdout).toContain("model: first (the first of 2 the server lists; --compatible-model picks another)")
    expect(modelOf(ws.file("drost.config.ts"))).toBe("first")
  })

  test("--yes against a server that lists no models refuses, naming the flag", async () => {
    await using llm = await fakeOpenAI({ key: null, models: [] })
    await using ws = await workspace()
    const setup = await runCli(
      ["setup", "--yes", "--provider", "openai-compatible", "--compatible-url", llm.baseUrl, "--port", "0"],
      { cwd: ws.path },
    )
    expect(setup.code).toBe(2)
    expect(setup.stderr).toContain("lists no models (GET /models): pass --compatible-model <name>")
    expect(existsSync(ws.file("drost.config.ts"))).toBe(false)
  })

  test("--yes --skip-probe without --compatible-model refuses and writes nothing", async () => {
    await using ws = await workspace()
    const setup = await runCli(
      [
        "setup",
        "--yes",
        "--skip-probe",
        "--provider",
        "openai-compatible",
        "--compatible-url",
        "http://127.0.0.1:9/v1",
      ],
      { cwd: ws.path },
    )
    expect(setup.code).toBe(2)
    expect(setup.stderr).toContain("openai-compatible needs a model: pass --compatible-model <name>")
    expect(existsSync(ws.file("drost.config.ts"))).toBe(false)
  })
})

describe("a profile the gateway cannot build", () => {
  const noModel = (baseUrl: string) => ({
    providers: { profiles: [{ id: "local", kind: "openai-compatible", baseUrl }] },
    controlApi: { port: 0 },
  })

  test("doctor fails it with the fix start would need; start still serves turns that say what to fix", async () => {
    await using llm = await fakeOpenAI({ key: null, models: ["m1"] })
    await using ws = await workspace({ config: noModel(llm.baseUrl) })
    const doctor = await runCli(["doctor", "--offline"], { cwd: ws.path })
    expect(doctor.code).toBe(1)
    expect(doctor.stdout).toContain("✗ provider local (default)")
    expect(doctor.stdout).toContain("needs a model")
    expect(doctor.stdout).toContain("set providers.profiles[0].model")

    await using gw = await spawnGateway(ws.path)
    const created = await gw.api("/sessions", { method: "POST", json: {} })
    expect(created.status).toBe(201)
    const session = (await created.json()) as { id: string }
    const turn = (await (
      await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hi" } })
    ).json()) as { status: string; reason?: string; error?: string }
    expect(turn.status).toBe("failed")
    const why = JSON.stringify(turn)
    expect(why).toContain("needs a model")
    expect(why).toContain("set providers.profiles[0].model")
    expect(llm.requests("chat")).toHaveLength(0)
  })

  test("with failover to a usable fallback, a turn on it fails over like any failed attempt", async () => {
    await using ws = await workspace({
      config: {
        providers: {
          profiles: [
            { id: "local", kind: "openai-compatible", baseUrl: "http://127.0.0.1:9/v1" },
            { id: "demo", kind: "demo" },
          ],
          failover: { fallbacks: ["demo"] },
        },
        controlApi: { port: 0 },
      },
    })
    await using gw = await spawnGateway(ws.path)
    const session = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as {
      id: string
      provider: string
    }
    expect(session.provider).toBe("local")
    const turn = (await (
      await gw.api(`/sessions/${session.id}/turn`, { method: "POST", json: { input: "hi" } })
    ).json()) as { status: string; text: string }
    expect(turn.status).toBe("completed")
    expect(turn.text.length).toBeGreaterThan(0)
  })

  test("the terminal chat opens, answers each message with the fix, and keeps taking input", async () => {
    await using ws = await workspace({ config: noModel("http://127.0.0.1:9/v1") })
    await using tty = spawnPty([process.execPath, ENTRY, "start"], { cwd: ws.path, env: { NO_COLOR: "1" } })
    await tty.expect("you ›", 20_000)
    tty.write("hello\r")
    await tty.expect("needs a model")
    await tty.expect("you ›")
    tty.write("/status\r")
    await tty.expect("state: degraded")
    tty.write("/quit\r")
    expect(await tty.exited).toBe(0)
    expect(tty.screen()).not.toContain("    at ")
  })
})
