/**
 * Issue 15 items 4 and 14, through `drost` itself: the config shape of Drost 0.1's README is refused
 * with a line per old key naming what to use instead (not a bare "unknown key"), the same config with
 * today's keys starts, and `~` in a config path means the home folder.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runCli } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"

setDefaultTimeout(30_000)

/** The Configuration example of Drost 0.1's README, as a user would paste it. */
const SEED = (keys: string) => `export default {
  workspaceDir: ".",
  providers: {
    defaultSessionProvider: "demo",
    profiles: [{ id: "demo", kind: "demo" }],
  },
${keys}
  evolution: { enabled: true, mutableRoots: ["tools", "prompts"] },
  channels: [],
};
`

describe("a config from Drost 0.1", () => {
  test("sessionStore and health are refused naming today's keys; with those keys it loads", async () => {
    await using ws = await workspace({
      files: {
        "drost.config.ts": SEED(`  sessionStore: { enabled: true, directory: ".drost/sessions" },
  health: { enabled: true, port: 0 },`),
      },
    })
    const refused = await runCli(["providers", "list"], { cwd: ws.path })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("sessionStore: a Drost 0.1 key: sessions now live in SQLite")
    expect(refused.stderr).toContain('remove "sessionStore"')
    expect(refused.stderr).toContain("health: a Drost 0.1 key")
    expect(refused.stderr).toContain('set "controlApi"')
    expect(refused.stderr).not.toContain("unknown key")

    ws.write("drost.config.ts", SEED("  controlApi: { enabled: true, port: 0 },"))
    const loaded = await runCli(["providers", "list"], { cwd: ws.path })
    expect(loaded.stderr).toBe("")
    expect(loaded.code).toBe(0)
    expect(loaded.stdout).toContain("demo")
  })
})

describe("~ in config paths", () => {
  test('stateDir: "~/…" is in the home folder, not <workspace>/~/…', async () => {
    const home = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? tmpdir(), "home-"))
    try {
      await using ws = await workspace({ config: { stateDir: "~/drost-state", memory: { dir: "~/notes" } } })
      const result = await runCli(["auth", "set-api-key", "openai", "openai:default", "sk-home-test-key"], {
        cwd: ws.path,
        env: { HOME: home },
      })
      expect(result.code).toBe(0)
      expect(existsSync(join(home, "drost-state", "auth-profiles.json"))).toBe(true)
      expect(existsSync(ws.file("~"))).toBe(false)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
