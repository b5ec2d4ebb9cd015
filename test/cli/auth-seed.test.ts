/**
 * The credential commands of the original README, run as written: `drost auth set-api-key openai
 * openai:default <key>`, `… openai-compatible openai-compatible:local <key>`, `drost auth
 * set-setup-token anthropic:default <token>`. Profiles without an `authProfile` pick them up by kind,
 * `drost providers probe 20000` reaches each fake with its key, and `drost auth list` names every
 * user, the Telegram channel included.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { fakeAnthropic } from "../fake/anthropic.ts"
import { fakeOpenAI } from "../fake/openai.ts"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

setDefaultTimeout(30_000)

const NO_ENV_KEYS = { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", XAI_API_KEY: "", TELEGRAM_BOT_TOKEN: "" }

describe("the seed README's auth commands", () => {
  test("keys stored as <kind>:default and openai-compatible:<id> are used by the profiles and probed", async () => {
    await using openai = await fakeOpenAI({ key: "sk-openai-seed" })
    await using local = await fakeOpenAI({ key: "sk-local-seed", models: ["local-model"] })
    await using claude = await fakeAnthropic({ key: "sk-ant-oat01-seed" })
    await using ws = await workspace({
      config: {
        providers: {
          defaultSessionProvider: "anthropic",
          profiles: [
            { id: "anthropic", kind: "anthropic", baseUrl: claude.baseUrl, model: "claude-test" },
            { id: "openai", kind: "openai", baseUrl: openai.baseUrl, model: "gpt-test" },
            { id: "local", kind: "openai-compatible", baseUrl: local.baseUrl, model: "local-model" },
          ],
        },
        channels: [{ kind: "telegram", authProfile: "telegram", allowedUsers: [1] }],
      },
      files: {
        ".drost/auth-profiles.json": JSON.stringify({
          profiles: { telegram: { kind: "telegram", token: "123456:fake-bot-token" } },
        }),
      },
    })
    const cli = (...args: string[]) => runCli(args, { cwd: ws.path, env: NO_ENV_KEYS })

    const openaiSet = await cli("auth", "set-api-key", "openai", "openai:default", "sk-openai-seed")
    expect(openaiSet.code).toBe(0)
    expect(openaiSet.stdout).toContain("used by openai")
    expect(
      (await cli("auth", "set-api-key", "openai-compatible", "openai-compatible:local", "sk-local-seed")).code,
    ).toBe(0)
    const token = await cli("auth", "set-setup-token", "anthropic:default", "sk-ant-oat01-seed")
    expect(token.code).toBe(0)
    expect(token.stdout).toContain("used by anthropic")

    const list = await cli("auth", "list", "--json")
    expect(list.code).toBe(0)
    const rows = (JSON.parse(list.stdout) as { profiles: { id: string; usedBy: string[] }[] }).profiles
    const usedBy = Object.fromEntries(rows.map((row) => [row.id, row.usedBy]))
    expect(usedBy).toEqual({
      telegram: ["telegram channel 1"],
      "openai:default": ["openai"],
      "openai-compatible:local": ["local"],
      "anthropic:default": ["anthropic"],
    })
    const plain = await cli("auth", "list")
    expect(plain.stdout).not.toContain("not used")

    const listed = await cli("providers", "list", "--json")
    const auth = Object.fromEntries(
      (JSON.parse(listed.stdout) as { providers: { id: string; auth: string }[] }).providers.map((row) => [
        row.id,
        row.auth,
      ]),
    )
    expect(auth).toEqual({
      anthropic: 'auth profile "anthropic:default"',
      openai: 'auth profile "openai:default"',
      local: 'auth profile "openai-compatible:local"',
    })

    const probe = await cli("providers", "probe", "20000", "--json")
    const results = (JSON.parse(probe.stdout) as { providers: { id: string; code: string; message: string }[] })
      .providers
    expect(results.map((result) => [result.id, result.code])).toEqual([
      ["anthropic", "ok"],
      ["openai", "ok"],
      ["local", "ok"],
    ])
    expect(probe.code).toBe(0)
    // Each fake saw its own key on GET /models.
    expect(openai.hits.some((hit) => hit.headers.authorization === "Bearer sk-openai-seed")).toBe(true)
    expect(local.hits.some((hit) => hit.headers.authorization === "Bearer sk-local-seed")).toBe(true)
    expect(claude.hits.length).toBeGreaterThan(0)
  })

  test("a <kind>:default key is never sent to a profile of another kind; an unused key says how to use it", async () => {
    await using ws = await workspace({
      config: { providers: { profiles: [{ id: "claude", kind: "anthropic", model: "claude-test" }] } },
    })
    const cli = (...args: string[]) => runCli(args, { cwd: ws.path, env: NO_ENV_KEYS })
    const set = await cli("auth", "set-api-key", "openai", "openai:default", "sk-openai-seed")
    expect(set.code).toBe(0)
    expect(set.stdout).toContain('no provider profile uses it yet: add { id: "openai", kind: "openai" }')
    const listed = await cli("providers", "list", "--json")
    expect(JSON.parse(listed.stdout).providers[0].auth).toBe("missing")
  })

  test("with no profile of its kind, providers probe says the stored key is unused and what to add", async () => {
    await using ws = await workspace()
    const cli = (...args: string[]) => runCli(args, { cwd: ws.path, env: NO_ENV_KEYS })
    expect((await cli("auth", "set-api-key", "openai-compatible", "openai-compatible:local", "sk-local")).code).toBe(0)
    const probe = await cli("providers", "probe", "20000")
    expect(probe.stdout).toContain("demo")
    expect(probe.stdout).toContain(
      'note: auth profile "openai-compatible:local" (openai-compatible) is used by no provider profile; add { id: "local", kind: "openai-compatible", baseUrl: "…", model: "…" }',
    )
  })
})
