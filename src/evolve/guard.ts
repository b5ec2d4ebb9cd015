/**
 * The guarded settings: what a transaction may not do to the config, whoever asked for it (the model
 * through the evolve tool, or an API client). Evolution exists for the agent to improve itself, not to
 * grant itself powers or switch off the checks on its own changes, so every rule below only stops a
 * *weakening*; tightening is allowed. The owner changes these by editing the config by hand.
 *
 * - The workspace and the state folder stay where they are (`workspaceDir`, `stateDir`).
 * - `sandbox` does not go from "auto" to "off".
 * - evolution: `mutableRoots` and `tools.roots`/`tools.mutableRoots` do not widen (each new root inside
 *   an old one); no `validation.commands` entry is dropped; `healthGate.canary` and
 *   `rollbackOnFailure` are not switched off.
 * - tools: `profile` does not loosen (strict < balanced < permissive); `tools.sandbox` does not leave
 *   "deno"; no entry leaves `secrets`, `deny`, `approve`, `shell.deny`; `allow` and `shell.allow` do not
 *   widen; nothing joins `shell.env` or `web.allowHosts`; `grants` add no name, variable or network;
 *   `dir` stays.
 * - Unchanged as a whole: `controlApi` (binding, tokens), `channels` (who may talk to the bot), `mcp`
 *   (programs and their environment), `prompts.system` and `memory.dir` (what is read into the model),
 *   `plugins` and `pluginConfig` (plugin code runs in the gateway, unconfined: docs/plugins.md).
 * - Provider profiles: none added or altered (a profile names a credential and where it is sent);
 *   removing one and choosing `defaultSessionProvider` or failover among the rest is allowed.
 */
import { isAbsolute, relative } from "node:path"
import type { Config } from "../core/config.ts"
import { type Evolution, Evolution as EvolutionSchema } from "../core/evolution-config.ts"
import { Value } from "../core/schema.ts"
import { type ToolsConfig, ToolsConfig as ToolsSchema } from "../core/tools-config.ts"

const PROFILES = ["strict", "balanced", "permissive"]

/** JSON with sorted keys, so the order a file lists its keys in does not count as a change. */
const stable = (value: unknown): string =>
  JSON.stringify(value ?? null, (_key, inner) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  )
const same = (a: unknown, b: unknown) => stable(a) === stable(b)
const inside = (root: string, path: string) => {
  const rel = relative(root, path)
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))
}

function tools(config: Config): ToolsConfig {
  return config.tools ?? (Value.Default(ToolsSchema, {}) as ToolsConfig)
}
function evolution(config: Config): Evolution {
  return config.evolution ?? (Value.Default(EvolutionSchema, {}) as Evolution)
}

/** Roots resolved against each config's workspace; every new one must sit inside an old one. */
function widened(before: string[], after: string[], oldBase: string, newBase: string): string[] {
  const old = before.map((root) => (isAbsolute(root) ? root : `${oldBase}/${root}`))
  return after.filter((root) => {
    const abs = isAbsolute(root) ? root : `${newBase}/${root}`
    return !old.some((base) => inside(base.replace(/\/\.$/, ""), abs.replace(/\/\.$/, "")))
  })
}

const dropped = <T>(before: T[], after: T[]) => before.filter((item) => !after.some((other) => same(item, other)))
const added = <T>(before: T[], after: T[]) => dropped(after, before)

/** One line per guarded setting the new config weakens; empty when it weakens none. */
export function weakened(before: Config, after: Config): string[] {
  const out: string[] = []
  const fail = (path: string, what: string) => out.push(`${path}: ${what}`)
  if (before.workspaceDir !== after.workspaceDir)
    fail("workspaceDir", `moves the workspace from ${before.workspaceDir} to ${after.workspaceDir}`)
  if (before.stateDir !== after.stateDir)
    fail("stateDir", `moves the state folder from ${before.stateDir} to ${after.stateDir}`)
  if ((before.sandbox ?? "auto") !== "off" && after.sandbox === "off") fail("sandbox", 'switches the OS sandbox "off"')

  const [e0, e1] = [evolution(before), evolution(after)]
  const roots = widened(e0.mutableRoots, e1.mutableRoots, before.workspaceDir, after.workspaceDir)
  if (roots.length) fail("evolution.mutableRoots", `widens to ${roots.join(", ")}`)
  const commands = dropped(e0.validation.commands, e1.validation.commands)
  if (commands.length)
    fail("evolution.validation.commands", `drops ${commands.map((c) => JSON.stringify(c)).join(", ")}`)
  if (e0.healthGate.canary && !e1.healthGate.canary) fail("evolution.healthGate.canary", "switches the canary off")
  if (e0.rollbackOnFailure && !e1.rollbackOnFailure) fail("evolution.rollbackOnFailure", "switches rollback off")

  const [t0, t1] = [tools(before), tools(after)]
  for (const key of ["roots", "mutableRoots"] as const) {
    const wider = widened(t0[key], t1[key], before.workspaceDir, after.workspaceDir)
    if (wider.length) fail(`tools.${key}`, `widens to ${wider.join(", ")}`)
  }
  if (PROFILES.indexOf(t1.profile) > PROFILES.indexOf(t0.profile))
    fail("tools.profile", `loosens from ${t0.profile} to ${t1.profile}`)
  if (t0.sandbox === "deno" && t1.sandbox !== "deno") fail("tools.sandbox", 'leaves "deno"')
  if (t0.dir !== t1.dir) fail("tools.dir", "moves the tools folder")
  const lists: [string, unknown[], unknown[]][] = [
    ["tools.secrets", t0.secrets, t1.secrets],
    ["tools.deny", t0.deny, t1.deny],
    ["tools.approve", t0.approve, t1.approve],
    ["tools.shell.deny", t0.shell.deny, t1.shell.deny],
  ]
  for (const [path, a, b] of lists) {
    const gone = dropped(a, b)
    if (gone.length) fail(path, `drops ${gone.join(", ")}`)
  }
  for (const [path, a, b] of [
    ["tools.allow", t0.allow, t1.allow],
    ["tools.shell.allow", t0.shell.allow, t1.shell.allow],
  ] as const) {
    // Empty means "everything": emptying a list widens it, as does adding to it.
    if ((a.length > 0 && b.length === 0) || (a.length > 0 && added(a, b).length))
      fail(path, b.length ? `adds ${added(a, b).join(", ")}` : "empties the list (= everything)")
  }
  for (const [path, a, b] of [
    ["tools.shell.env", t0.shell.env, t1.shell.env],
    ["tools.web.allowHosts", t0.web.allowHosts, t1.web.allowHosts],
  ] as const) {
    const more = added(a, b)
    if (more.length) fail(path, `adds ${more.join(", ")}`)
  }
  for (const [name, grant] of Object.entries(t1.grants ?? {})) {
    const old = t0.grants?.[name]
    const env = added(old?.env ?? [], grant.env ?? [])
    if (!old) fail(`tools.grants.${name}`, "adds a grant")
    else if (env.length) fail(`tools.grants.${name}.env`, `adds ${env.join(", ")}`)
    else if (grant.network && !old.network) fail(`tools.grants.${name}.network`, "grants network")
  }

  const whole: [string, unknown, unknown][] = [
    ["controlApi", before.controlApi, after.controlApi],
    ["channels", before.channels ?? [], after.channels ?? []],
    // A plugin's channel entries (channels[] with a plugin's kind, kept apart after loading): the same rule.
    ["channels", before.pluginChannels ?? [], after.pluginChannels ?? []],
    ["mcp", before.mcp?.servers ?? {}, after.mcp?.servers ?? {}],
    ["prompts.system", before.prompts.system, after.prompts.system],
    ["memory.dir", before.memory.dir, after.memory.dir],
    ["plugins", before.plugins ?? [], after.plugins ?? []],
    ["pluginConfig", before.pluginConfig ?? {}, after.pluginConfig ?? {}],
  ]
  for (const [path, a, b] of whole) if (!same(a, b)) fail(path, "changed (only the owner changes it, by hand)")
  const profiles = added(before.providers.profiles, after.providers.profiles)
  if (profiles.length)
    fail(
      "providers.profiles",
      `adds or alters ${profiles.map((p) => (p as { id: string }).id).join(", ")} (a profile names a credential and where it is sent)`,
    )
  return out
}
