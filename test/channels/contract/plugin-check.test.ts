/**
 * A plugin channel's live check (PluginChannel.check; the Loop example asks GET /bot/me): `drost doctor`
 * runs it for every instance, and `drost setup` in a workspace whose config it keeps reports it, as
 * they do Discord's GET /users/@me (doctor.test.ts). The loopback Loop platform refuses a wrong token.
 */
import { expect, test } from "bun:test"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { demoConfig } from "../../lib/config.ts"
import { runCli } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"
import { startLoopPlatform } from "./loop-platform.ts"

const EXAMPLE = join(import.meta.dir, "../../../examples/plugin-channel-loop")

interface Check {
  name: string
  status: string
  detail: string
}

const checks = async (cwd: string) => {
  const result = await runCli(["doctor", "--json"], { cwd, timeoutMs: 30_000 })
  return (JSON.parse(result.stdout) as { checks: Check[] }).checks
}

test("drost doctor and drost setup run a plugin channel's live check for each instance", async () => {
  const fake = startLoopPlatform({ gapMs: 100 })
  try {
    const config = demoConfig({
      plugins: ["plugin-channel-loop"],
      channels: [
        { kind: "loop", url: fake.url, token: fake.token, allowedUsers: ["u-alice"] },
        { kind: "loop", url: fake.url, token: "not-the-token" },
        { kind: "nope" },
      ],
    })
    await using ws = await workspace({ config })
    cpSync(EXAMPLE, join(ws.path, "node_modules/plugin-channel-loop"), { recursive: true })
    const found = await checks(ws.path)
    expect(found.find((check) => check.name === "loop channel")).toMatchObject({
      status: "ok",
      detail: "Loop bot loopbot (b-loop)",
    })
    expect(found.find((check) => check.name === "loop#2 channel")).toMatchObject({
      status: "fail",
      detail: "invalid bot token (Loop answered 401)",
    })
    expect(found.find((check) => check.name === "channels[2]")).toMatchObject({
      status: "fail",
      detail: 'no loaded plugin has a channel "nope"',
    })
    expect(JSON.stringify(found)).not.toContain("not-the-token")

    // drost setup keeps the config there (drost.config.ts, which it would write) and reports the same checks.
    await using kept = await workspace({ files: { "drost.config.ts": `export default ${JSON.stringify(config)}\n` } })
    cpSync(EXAMPLE, join(kept.path, "node_modules/plugin-channel-loop"), { recursive: true })
    const setup = await runCli(["setup", "--yes", "--provider", "demo"], { cwd: kept.path, timeoutMs: 30_000 })
    expect(setup.stdout).toContain("kept (exists; --force overwrites)  drost.config.ts")
    expect(setup.code).toBe(0)
    expect(setup.stdout).toContain("checked  loop channel: Loop bot loopbot (b-loop)")
    expect(setup.stdout).toContain("problem  loop#2 channel: invalid bot token (Loop answered 401)")
  } finally {
    fake.stop()
  }
}, 60_000)

test("the single instance on the plugin's pluginConfig is checked too; an unreachable platform is named", async () => {
  const fake = startLoopPlatform({ gapMs: 100 })
  const url = fake.url
  fake.stop()
  const settings = { url, token: "loop-token-1", allowedUsers: ["u-alice"] }
  await using ws = await workspace({
    config: demoConfig({ plugins: ["plugin-channel-loop"], pluginConfig: { "plugin-channel-loop": settings } }),
  })
  cpSync(EXAMPLE, join(ws.path, "node_modules/plugin-channel-loop"), { recursive: true })
  const check = (await checks(ws.path)).find((entry) => entry.name === "loop channel")
  expect(check?.status).toBe("fail")
  expect(check?.detail).toStartWith(`cannot reach Loop at ${url}`)
}, 30_000)
