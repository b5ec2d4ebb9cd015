/**
 * The model cannot load a plugin through evolve either: even where the owner made the config mutable
 * for transactions, a change to `plugins` or `pluginConfig` is refused by the guarded settings
 * (src/evolve/guard.ts), since a plugin's code runs in the gateway, unconfined.
 */
import { expect, test } from "bun:test"
import { weakened } from "../../src/evolve/guard.ts"
import { resolveConfig } from "../../src/gateway/load.ts"

const BASE = { providers: { profiles: [{ id: "demo", kind: "demo" }] }, plugins: ["plugin-hello"] }
const load = (raw: unknown) => resolveConfig(raw, "/ws", "/ws/drost.config.json")
const check = (patch: Record<string, unknown>) => weakened(load(BASE), load({ ...BASE, ...patch }))

test("adding, removing or reconfiguring a plugin is a guarded change", () => {
  expect(check({ plugins: ["plugin-hello", "evil"] })).toEqual([
    "plugins: changed (only the owner changes it, by hand)",
  ])
  expect(check({ plugins: [] })[0]).toStartWith("plugins:")
  expect(check({ pluginConfig: { "plugin-hello": { greeting: "hi" } } })[0]).toStartWith("pluginConfig:")
  expect(check({})).toEqual([])
})

test("the config check names a plugin profile or settings for a plugin that is not listed", () => {
  expect(() =>
    load({
      providers: { profiles: [{ id: "x", kind: "plugin", plugin: "nope" }] },
      pluginConfig: { other: {} },
    }),
  ).toThrow(/providers\.profiles\[0\]\.plugin: plugin "nope" is not listed in plugins/)
  let message = ""
  try {
    load({ providers: { profiles: [{ id: "x", kind: "plugin" }] }, pluginConfig: { other: {} } })
  } catch (error) {
    message = (error as Error).message
  }
  expect(message).toContain('providers.profiles[0].plugin: is required for kind "plugin"')
  expect(message).toContain('pluginConfig["other"]: plugin "other" is not listed in plugins')
})
