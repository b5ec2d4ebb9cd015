/**
 * Loads the configuration: finds the first config file in the workspace root, loads `.env` files,
 * validates against the schema and resolves paths. Every failure is a ConfigError carrying one line
 * per problem, which the CLI prints without a stack trace.
 */
import { existsSync, readFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, isAbsolute, join, resolve } from "node:path"
import {
  BUILT_IN_CHANNEL_KINDS,
  type ChannelConfig,
  type DiscordChannelInput,
  discordIssues,
  type PluginChannelConfig,
  resolveDiscord,
  type TelegramChannelInput,
} from "../core/channel-config.ts"
import type { Config, ConfigInput, Profile } from "../core/config.ts"
import { ConfigSchema } from "../core/config.ts"
import type { Schedule } from "../core/continuity-config.ts"
import { parseEvery, scheduleIssues, zoneProblem } from "../core/cron.ts"
import { ConfigError, message } from "../core/error.ts"
import { type Issue, issues as schemaIssues, Value } from "../core/schema.ts"
import { resolveSlack, type SlackChannelInput, slackIssues } from "../core/slack-config.ts"
import { voiceIssues } from "../core/voice-config.ts"
import { Flag } from "../util/flag.ts"
import { CONFIG_NAMES } from "../workspace/boundary.ts"
import { legacyIssues } from "./legacy-keys.ts"
import { registerSdkModule } from "./sdk-module.ts"

export const CONFIG_FILES = CONFIG_NAMES

export function findConfig(root: string): string | null {
  return CONFIG_FILES.map((name) => join(root, name)).find((file) => existsSync(file)) ?? null
}

/** `.env.local` beats `.env`; the real environment beats both. Returns the keys it set. */
export function loadEnvFiles(root: string): string[] {
  const set: string[] = []
  for (const name of [".env.local", ".env"]) {
    const file = join(root, name)
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
      const match = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/)
      if (!match) continue
      const [, key, raw] = match as unknown as [string, string, string]
      if (process.env[key] !== undefined) continue
      const quoted = raw.match(/^(['"])(.*)\1$/)
      process.env[key] = quoted
        ? quoted[1] === '"'
          ? quoted[2]!.replace(/\\n/g, "\n")
          : quoted[2]!
        : raw.replace(/\s+#.*$/, "")
      set.push(key)
    }
  }
  return set
}

async function readInput(file: string): Promise<unknown> {
  if (file.endsWith(".json")) {
    const text = await Bun.file(file)
      .text()
      .catch((error) => {
        throw new ConfigError(file, [`cannot read ${file}: ${message(error)}`])
      })
    try {
      return JSON.parse(text)
    } catch (error) {
      throw new ConfigError(file, [`${file}: invalid JSON: ${message(error)}`])
    }
  }
  registerSdkModule()
  try {
    const mod = (await import(`${file}?t=${Date.now()}`)) as { default?: unknown }
    if (mod.default === undefined)
      throw new ConfigError(file, [`${file}: no default export (write \`export default defineConfig({ … })\`)`])
    return mod.default
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(file, [`cannot load ${file}: ${message(error).split("\n")[0]}`])
  }
}

function semantic(input: ConfigInput): Issue[] {
  const out: Issue[] = []
  const profiles = (input.providers?.profiles ?? []) as Profile[]
  const ids = new Set<string>()
  profiles.forEach((profile, index) => {
    if (ids.has(profile.id))
      out.push({ path: `providers.profiles[${index}].id`, message: `duplicate profile id "${profile.id}"` })
    ids.add(profile.id)
    if (profile.kind === "openai-compatible" && !profile.baseUrl)
      out.push({ path: `providers.profiles[${index}].baseUrl`, message: 'is required for kind "openai-compatible"' })
  })
  const chosen = input.providers?.defaultSessionProvider
  if (chosen !== undefined && !ids.has(chosen))
    out.push({
      path: "providers.defaultSessionProvider",
      message: `expected one of the profile ids (${[...ids].join(", ") || "none"}), got "${chosen}"`,
    })
  input.providers?.failover?.fallbacks?.forEach((id, index) => {
    if (!ids.has(id))
      out.push({ path: `providers.failover.fallbacks[${index}]`, message: `unknown profile id "${id}"` })
  })
  if (profiles.length === 0) out.push({ path: "providers.profiles", message: "needs at least one profile" })
  const zone = typeof input.timeZone === "string" ? input.timeZone : undefined
  const zoneIssue = zone ? zoneProblem(zone) : null
  if (zoneIssue) out.push({ path: "timeZone", message: zoneIssue })
  out.push(...scheduleIssues((input.schedules ?? []) as Schedule[], zoneIssue ? undefined : zone))
  const beat = input.heartbeat
  if (beat?.provider && !ids.has(beat.provider))
    out.push({ path: "heartbeat.provider", message: `unknown profile id "${beat.provider}"` })
  try {
    if (beat?.every) parseEvery(beat.every)
  } catch (error) {
    out.push({ path: "heartbeat.every", message: (error as Error).message })
  }
  out.push(...pluginIssues(input))
  out.push(...channelIssues((input.channels ?? []) as TelegramChannelInput[]))
  ;(input.channels ?? []).forEach((channel, index) => {
    if (channel.kind === "discord") out.push(...discordIssues(channel as DiscordChannelInput, index))
    if (channel.kind === "slack") out.push(...slackIssues(channel as SlackChannelInput, index))
  })
  out.push(...voiceIssues(input.voice, profiles))
  out.push(...storeIssues(input))
  return out
}

/** `store.url` (or DROST_STORE_URL) must name PostgreSQL; unset, the store is SQLite (src/store/engine/open.ts). */
function storeIssues(input: ConfigInput): Issue[] {
  const env = Flag.get("DROST_STORE_URL")
  const url = env ?? input.store?.url
  if (!url) return []
  const path = env ? "DROST_STORE_URL" : "store.url"
  if (!/^postgres(ql)?:\/\//i.test(url))
    return [{ path, message: "expected a postgres://user@host:port/database URL; leave it unset for SQLite" }]
  return []
}

/** A plugin profile names a listed plugin; settings are only for listed plugins (docs/plugins.md). */
function pluginIssues(input: ConfigInput): Issue[] {
  const out: Issue[] = []
  const listed = new Set(input.plugins ?? [])
  ;((input.providers?.profiles ?? []) as Profile[]).forEach((profile, index) => {
    const at = `providers.profiles[${index}]`
    if (profile.kind !== "plugin") {
      if (profile.plugin !== undefined) out.push({ path: `${at}.plugin`, message: 'is only for kind "plugin"' })
      return
    }
    const name = profile.plugin?.split(":")[0]
    if (!name) out.push({ path: `${at}.plugin`, message: 'is required for kind "plugin" (the plugin\'s package name)' })
    else if (!listed.has(name)) out.push({ path: `${at}.plugin`, message: `plugin "${name}" is not listed in plugins` })
  })
  for (const name of Object.keys(input.pluginConfig ?? {}))
    if (!listed.has(name))
      out.push({ path: `pluginConfig["${name}"]`, message: `plugin "${name}" is not listed in plugins` })
  return out
}

function channelIssues(channels: TelegramChannelInput[]): Issue[] {
  const out: Issue[] = []
  channels.forEach((channel, index) => {
    if (channel.kind !== "telegram") return
    if (channel.token && !/^\d+:[A-Za-z0-9_-]+$/.test(channel.token))
      out.push({
        path: `channels[${index}].token`,
        message: "does not look like a bot token (<digits>:<secret> from @BotFather)",
      })
    if ([channel.token, channel.tokenEnv, channel.authProfile].filter(Boolean).length > 1)
      out.push({ path: `channels[${index}]`, message: "set only one of token, tokenEnv and authProfile" })
    if (channel.groups?.enabled && (channel.groups.allowed ?? []).length === 0)
      out.push({
        path: `channels[${index}].groups.allowed`,
        message: "list the group chat ids the bot may answer in (groups are enabled)",
      })
  })
  return out
}

const builtIn = (kind: string) => (BUILT_IN_CHANNEL_KINDS as readonly string[]).includes(kind)

function resolveChannels(channels: ConfigInput["channels"]): ChannelConfig[] {
  return ((channels ?? []) as (TelegramChannelInput | DiscordChannelInput | SlackChannelInput)[])
    .filter((channel) => builtIn(channel.kind))
    .map((channel) =>
      channel.kind === "discord"
        ? resolveDiscord(channel)
        : channel.kind === "slack"
          ? resolveSlack(channel)
          : resolveTelegram(channel),
    )
}

/** Entries whose kind is a plugin's channel: their settings are checked by the plugin's schema when it loads. */
function resolvePluginChannels(channels: ConfigInput["channels"]): PluginChannelConfig[] {
  return ((channels ?? []) as { kind: string }[]).flatMap(({ kind, ...settings }, index) =>
    builtIn(kind) ? [] : [{ kind, index, settings }],
  )
}

function resolveTelegram(channel: TelegramChannelInput): ChannelConfig {
  return {
    ...channel,
    groups: {
      enabled: channel.groups?.enabled ?? false,
      allowed: channel.groups?.allowed ?? [],
      members: channel.groups?.members ?? "allowed",
    },
  }
}

/** `~` and `~/…` mean the home folder, as in a shell (`~user` is left alone). */
export function expandHome(path: string): string {
  if (path === "~") return homedir()
  if (path.startsWith("~/")) return join(homedir(), path.slice(2))
  return path
}

/**
 * The config's path values with `~` expanded, before anything resolves them against the workspace
 * (which turned `stateDir: "~/x"` into `<workspace>/~/x`). Other values are left as written.
 */
function expandPaths(raw: Record<string, unknown>): Record<string, unknown> {
  const input = structuredClone(raw)
  const object = (value: unknown) =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  const one = (holder: Record<string, unknown> | null, key: string) => {
    if (holder && typeof holder[key] === "string") holder[key] = expandHome(holder[key] as string)
  }
  const list = (holder: Record<string, unknown> | null, key: string) => {
    if (holder && Array.isArray(holder[key]))
      holder[key] = (holder[key] as unknown[]).map((item) => (typeof item === "string" ? expandHome(item) : item))
  }
  one(input, "workspaceDir")
  one(input, "stateDir")
  one(object(input.prompts), "system")
  one(object(input.memory), "dir")
  const tools = object(input.tools)
  for (const key of ["dir", "deno"]) one(tools, key)
  for (const key of ["roots", "mutableRoots", "secrets"]) list(tools, key)
  list(object(input.evolution), "mutableRoots")
  for (const server of Object.values(object(object(input.mcp)?.servers) ?? {})) one(object(server), "cwd")
  return input
}

/** Validate a raw config value (from a file or a test) and resolve it against `base`. */
export function resolveConfig(raw: unknown, base: string, file: string | null): Config {
  const label = file ?? "(defaults)"
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(label, ["(root): expected an object"])
  const legacy = legacyIssues(raw as Record<string, unknown>)
  const input = Value.Default(ConfigSchema, expandPaths(legacy.rest)) as ConfigInput
  // Check first: listing the issues of a valid config walks it through generators, several times slower.
  const problems = Value.Check(ConfigSchema, input) ? [] : schemaIssues(ConfigSchema, input)
  if (problems.length === 0) problems.push(...semantic(input))
  problems.unshift(...legacy.issues)
  if (problems.length > 0)
    throw new ConfigError(
      label,
      problems.map((issue) => `${issue.path}: ${issue.message}`),
    )

  const at = (root: string, path: string) => (isAbsolute(path) ? path : resolve(root, path))
  const workspaceDir = at(base, input.workspaceDir ?? ".")
  const providers = input.providers!
  const profiles = providers.profiles as Profile[]
  return {
    file,
    workspaceDir,
    stateDir: input.stateDir ? at(base, input.stateDir) : join(workspaceDir, ".drost"),
    providers: {
      defaultSessionProvider: providers.defaultSessionProvider ?? profiles[0]!.id,
      profiles,
      failover: providers.failover as Config["providers"]["failover"],
      probeOnStart: providers.probeOnStart ?? false,
      probeTimeoutMs: providers.probeTimeoutMs ?? 5000,
    },
    agent: input.agent as Config["agent"],
    prompts: { system: at(workspaceDir, input.prompts!.system!) },
    controlApi: input.controlApi as Config["controlApi"],
    shutdown: input.shutdown as Config["shutdown"],
    store: input.store as Config["store"],
    logs: input.logs as Config["logs"],
    tools: input.tools as Config["tools"],
    mcp: input.mcp as Config["mcp"],
    sandbox: input.sandbox ?? "auto",
    evolution: input.evolution as Config["evolution"],
    supervisor: input.supervisor as Config["supervisor"],
    // The owner's zone is the default of the prompt's clock and daily notes, so "tomorrow at 9" agrees.
    context: { ...(input.context as Config["context"]), timeZone: input.context?.timeZone ?? input.timeZone },
    timeZone: input.timeZone,
    heartbeat: input.heartbeat as Config["heartbeat"],
    memory: { ...(input.memory as Config["memory"]), dir: at(workspaceDir, input.memory!.dir!) },
    orchestration: input.orchestration as Config["orchestration"],
    schedules: (input.schedules ?? []) as Config["schedules"],
    retention: input.retention as Config["retention"],
    channels: resolveChannels(input.channels),
    pluginChannels: resolvePluginChannels(input.channels),
    voice: input.voice as Config["voice"],
    jobs: input.jobs as Config["jobs"],
    skills: input.skills as Config["skills"],
    plugins: input.plugins ?? [],
    pluginConfig: input.pluginConfig ?? {},
    backup: input.backup as Config["backup"],
    update: input.update as Config["update"],
    budgets: input.budgets as Config["budgets"],
    telemetry: input.telemetry as Config["telemetry"],
  }
}

export interface LoadOptions {
  /** Folder searched for the config file and `.env` files. */
  root: string
  /** An explicit config file (`--config`); must exist. */
  file?: string
}

export async function load(options: LoadOptions): Promise<Config> {
  const root = resolve(options.root)
  const file = options.file ? resolve(root, options.file) : findConfig(root)
  if (options.file && !existsSync(file!)) throw new ConfigError(file!, [`cannot read ${file}: no such file`])
  loadEnvFiles(file ? dirname(file) : root)
  const raw = file ? await readInput(file) : {}
  return resolveConfig(raw, file ? dirname(file) : root, file)
}

export * as ConfigLoader from "./load.ts"
