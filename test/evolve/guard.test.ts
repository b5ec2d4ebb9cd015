/**
 * The guarded settings (src/evolve/guard.ts) on configs resolved by the real loader: every weakening is
 * named, tightening and unguarded changes pass, and key order does not count as a change.
 */
import { expect, test } from "bun:test"
import { weakened } from "../../src/evolve/guard.ts"
import { resolveConfig } from "../../src/gateway/load.ts"

const BASE = {
  providers: {
    profiles: [
      { id: "demo", kind: "demo" },
      { id: "demo2", kind: "demo" },
    ],
  },
  evolution: { mutableRoots: ["tools", "prompts"], validation: { commands: ["bun test"] } },
  tools: {
    allow: ["file.*", "shell"],
    deny: ["git.commit"],
    approve: ["shell"],
    grants: { shell: { env: ["A"], network: false } },
  },
}
const load = (raw: unknown) => resolveConfig(raw, "/ws", "/ws/drost.config.json")
const base = load(BASE)
const check = (patch: Record<string, unknown>) => weakened(base, load({ ...BASE, ...patch }))
const tools = (patch: Record<string, unknown>) => check({ tools: { ...BASE.tools, ...patch } })

test("each weakening is named", () => {
  expect(check({ workspaceDir: "other" })[0]).toContain("workspaceDir")
  expect(check({ stateDir: "/elsewhere" })[0]).toContain("stateDir")
  expect(check({ sandbox: "off" })[0]).toContain("sandbox")
  expect(check({ evolution: { ...BASE.evolution, mutableRoots: ["."] } })[0]).toContain("evolution.mutableRoots")
  expect(check({ evolution: { ...BASE.evolution, validation: { commands: [] } } })[0]).toContain("commands: drops")
  expect(check({ evolution: { ...BASE.evolution, healthGate: { canary: false } } })[0]).toContain("canary")
  expect(check({ evolution: { ...BASE.evolution, rollbackOnFailure: false } })[0]).toContain("rollbackOnFailure")
  expect(tools({ roots: ["/"] })[0]).toContain("tools.roots")
  expect(tools({ mutableRoots: [".."] })[0]).toContain("tools.mutableRoots")
  expect(tools({ profile: "permissive" })[0]).toContain("tools.profile")
  expect(tools({ allow: [] })[0]).toContain("tools.allow")
  expect(tools({ allow: ["file.*", "shell", "web.*"] })[0]).toContain("adds web.*")
  expect(tools({ deny: [] })[0]).toContain("tools.deny")
  expect(tools({ approve: [] })[0]).toContain("tools.approve")
  expect(tools({ secrets: [] })).toEqual([])
  expect(tools({ grants: { shell: { env: ["A", "OPENAI_API_KEY"], network: false } } })[0]).toContain(
    "adds OPENAI_API_KEY",
  )
  expect(tools({ grants: { shell: { env: ["A"], network: true } } })[0]).toContain("network")
  expect(tools({ grants: { ...BASE.tools.grants, "evolution.gates": { env: ["X"], network: false } } })[0]).toContain(
    "adds a grant",
  )
  expect(tools({ shell: { env: ["PATH", "OPENAI_API_KEY"] } }).join()).toContain("tools.shell.env")
  expect(tools({ web: { allowHosts: ["127.0.0.1"] } })[0]).toContain("tools.web.allowHosts")
  expect(check({ controlApi: { host: "0.0.0.0" } })[0]).toContain("controlApi")
  expect(check({ prompts: { system: ".drost/control-token" } })[0]).toContain("prompts.system")
  expect(
    check({
      providers: { profiles: [...BASE.providers.profiles, { id: "x", kind: "openai", baseUrl: "http://evil" }] },
    })[0],
  ).toContain("providers.profiles")
})

test("tightening and unguarded changes pass; key order is no change", () => {
  expect(check({ evolution: { ...BASE.evolution, mutableRoots: ["tools"] } })).toEqual([])
  expect(check({ evolution: { ...BASE.evolution, validation: { commands: ["bun test", "bun lint"] } } })).toEqual([])
  expect(tools({ profile: "strict", allow: ["shell"], deny: ["git.commit", "web.fetch"] })).toEqual([])
  expect(check({ providers: { ...BASE.providers, defaultSessionProvider: "demo2" } })).toEqual([])
  expect(check({ providers: { profiles: [{ id: "demo", kind: "demo" }] } })).toEqual([])
  expect(check({ supervisor: { backoffMs: 10 } })).toEqual([])
  const reordered = { tools: BASE.tools, evolution: BASE.evolution, providers: BASE.providers }
  expect(weakened(base, load(reordered))).toEqual([])
})
