import { describe, expect, test } from "bun:test"
import { mkdirSync } from "node:fs"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { load } from "../../src/gateway/load.ts"
import { ConfigError } from "../../src/core/error.ts"

async function startWith(config: unknown, raw?: { name: string; text: string }) {
  await using ws = await workspace()
  if (raw) ws.write(raw.name, raw.text)
  else ws.write("drost.config.json", JSON.stringify(config))
  return await runCli(["start"], { cwd: ws.path })
}

function expectOneLineError(result: { code: number | null; stderr: string }, line: string | RegExp) {
  expect(result.code).toBe(78)
  const problems = result.stderr.split("\n").filter((entry) => entry.startsWith("  "))
  expect(problems.length).toBe(1)
  if (typeof line === "string") expect(problems[0]!.trim()).toBe(line)
  else expect(problems[0]!.trim()).toMatch(line)
  expect(result.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/) // no stack trace
}

describe("config mistakes", () => {
  test("wrong type names the path", async () => {
    const result = await startWith({ controlApi: { port: "eighty" } })
    expectOneLineError(result, 'controlApi.port: expected integer, got string "eighty"')
  })

  test("unknown key", async () => {
    const result = await startWith({ providers: { profiles: [{ id: "demo", kind: "demo", colour: "red" }] } })
    expectOneLineError(result, "providers.profiles[0].colour: unknown key")
  })

  test("missing required value", async () => {
    const result = await startWith({ providers: { profiles: [{ id: "demo" }] } })
    expectOneLineError(result, "providers.profiles[0].kind: is required")
  })

  test("bad enum lists the choices", async () => {
    const result = await startWith({
      providers: {
        profiles: [
          { id: "demo", kind: "demo" },
          { id: "x", kind: "gpt" },
        ],
      },
    })
    expectOneLineError(
      result,
      'providers.profiles[1].kind: expected one of "demo", "openai", "anthropic", "openai-compatible", "xai", "plugin", got string "gpt"',
    )
  })

  test("unreadable file", async () => {
    await using ws = await workspace()
    mkdirSync(ws.file("drost.config.json")) // a folder where the file should be: cannot be read
    const result = await runCli(["start"], { cwd: ws.path })
    expectOneLineError(result, /^cannot read .*drost\.config\.json: /)
  })

  test("invalid JSON and a broken TypeScript config are one line each", async () => {
    expectOneLineError(
      await startWith(null, { name: "drost.config.json", text: "{ nope" }),
      /drost\.config\.json: invalid JSON/,
    )
    expectOneLineError(
      await startWith(null, { name: "drost.config.ts", text: "export default {{" }),
      /^cannot load .*drost\.config\.ts: /,
    )
  })

  test("several problems give one line each", async () => {
    await using ws = await workspace({
      config: { agent: { maxSteps: 0 }, nope: true, providers: { defaultSessionProvider: 3 } },
    })
    const result = await runCli(["start"], { cwd: ws.path })
    expect(result.code).toBe(78)
    const problems = result.stderr.split("\n").filter((entry) => entry.startsWith("  "))
    expect(problems.map((line) => line.trim().split(":")[0])).toEqual([
      "agent.maxSteps",
      "nope",
      "providers.defaultSessionProvider",
    ])
  })
})

describe("config loading", () => {
  test("a TypeScript config with defineConfig, .env files, and paths relative to the config file", async () => {
    await using ws = await workspace({
      files: {
        "conf/drost.config.ts": `import { defineConfig } from "drost"
export default defineConfig({
  workspaceDir: "..",
  providers: { profiles: [{ id: "main", kind: "demo", model: process.env.DEMO_MODEL }] },
})`,
        "conf/.env": "DEMO_MODEL=from-dotenv\nOTHER=dotenv\n",
        "conf/.env.local": "OTHER=local\n",
      },
    })
    delete process.env.OTHER
    const config = await load({ root: ws.path, file: "conf/drost.config.ts" })
    expect(config.workspaceDir).toBe(ws.path)
    expect(config.stateDir).toBe(`${ws.path}/.drost`)
    expect(config.providers.defaultSessionProvider).toBe("main")
    expect(config.providers.profiles[0]!.model).toBe("from-dotenv")
    expect(process.env["OTHER"] as string | undefined).toBe("local")
    expect(config.agent.maxToolCalls).toBe(50)
    expect(config.prompts.system).toBe(`${ws.path}/prompts/system.md`)
    delete process.env.DEMO_MODEL
    delete process.env.OTHER
  })

  test("the real environment wins over .env", async () => {
    await using ws = await workspace({ files: { ".env": "DROST_T_VALUE=file\n", "drost.config.json": "{}" } })
    process.env.DROST_T_VALUE = "real"
    await load({ root: ws.path })
    expect(process.env.DROST_T_VALUE).toBe("real")
    delete process.env.DROST_T_VALUE
  })

  test("an unknown default provider is reported against its path", async () => {
    await using ws = await workspace({ config: { providers: { defaultSessionProvider: "nope" } } })
    const error = await load({ root: ws.path }).catch((caught) => caught)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).lines).toEqual([
      'providers.defaultSessionProvider: expected one of the profile ids (demo), got "nope"',
    ])
  })

  test("no config file runs on defaults with the demo provider", async () => {
    await using ws = await workspace()
    const config = await load({ root: ws.path })
    expect(config.file).toBeNull()
    expect(config.providers.profiles).toEqual([{ id: "demo", kind: "demo" }])
    expect(config.controlApi.host).toBe("127.0.0.1")
  })
})
