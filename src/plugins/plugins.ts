/**
 * The plugins of a workspace (docs/plugins.md): each package listed in the config's `plugins` is
 * resolved in the workspace's own node_modules, imported by the gateway, checked (shape, name, its
 * settings against its own schema) and then registered where its parts belong:
 *
 * - tools: not here. Their files go to the sandboxed tool host (tool/loader.ts), which imports the
 *   same entry and serves `tools` under the same policy, grants, approvals and OS sandbox as
 *   workspace tools. No tool of a plugin ever runs in the gateway.
 * - providers: a factory for profiles with `kind: "plugin"`, wrapped so its stream keeps the contract.
 * - commands: answered by the same dispatcher as the built-in slash commands, on every surface.
 * - routes: under /control/v1/plugins/<package>/, behind the Control API's token.
 * - channels: started once the gateway is up, stopped before it stops.
 *
 * Importing a plugin runs its top-level code in the gateway, unconfined: installing one is trusting
 * its code, like any npm package. A plugin that throws, hangs or fails a check is skipped with the
 * reason (shown by /status and GET /control/v1/plugins); the gateway carries on without it.
 */
import type { Profile } from "../core/config.ts"
import type { Provider } from "../core/provider.ts"
import type { PluginChannelHost, PluginDefinition } from "../sdk/plugin.ts"
import { describeError } from "../tool/protocol.ts"
import { registerSdkModule } from "../tool/sdk-plugin.ts"
import { Log, type Logger } from "../util/log.ts"
import { channelSettings, pluginProblem, pluginSettings } from "./check.ts"
import { guardProvider } from "./provider.ts"
import { resolvePlugin } from "./resolve.ts"

export interface PluginStatus {
  /** The package name, as listed in `plugins`. */
  name: string
  version: string
  state: "loaded" | "failed"
  /** Why it was skipped (failed), or what went wrong later (a channel that did not start); else null. */
  reason: string | null
  /** The entry file, relative to the workspace. */
  entry: string | null
  tools: string[]
  providers: string[]
  commands: string[]
  routes: string[]
  channels: string[]
}

/** A plugin's slash command as the dispatcher runs it. */
export interface PluginCommandEntry {
  plugin: string
  usage: string
  help: string
  run(arg: string, context: { channel: string; sessionId: string | null }): Promise<{ text: string; listing?: boolean }>
}

export interface PluginsOptions {
  workspace: string
  /** Package names, in load order (the config's `plugins`). */
  names: string[]
  /** The config's `pluginConfig`. */
  settings: Record<string, unknown>
  /** The `channels` entries of plugins' channels (the config's `pluginChannels`): one instance each. */
  channelEntries?: readonly { kind: string; index: number; settings: Record<string, unknown> }[]
  /** Command names a plugin may not take (the built-in ones). */
  reservedCommands: Iterable<string>
  log?: Logger
  importTimeoutMs?: number
}

interface Loaded {
  definition: PluginDefinition
  settings: unknown
  entry: string
  status: PluginStatus
  log: Logger
}

function pluginLogger(name: string) {
  const log = Log.create(`plugin:${name}`)
  return {
    log,
    sdk: {
      info: (message: string, fields?: Record<string, unknown>) => log.info(message, fields),
      warn: (message: string, fields?: Record<string, unknown>) => log.warn(message, fields),
      error: (message: string, fields?: Record<string, unknown>) => log.error(message, fields),
    },
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const textOf = (answer: unknown): { text: string; listing?: boolean } => {
  if (typeof answer === "string") return { text: answer }
  if (answer && typeof answer === "object" && typeof (answer as { text?: unknown }).text === "string") {
    const { text, listing } = answer as { text: string; listing?: unknown }
    return { text, listing: listing === true }
  }
  return { text: answer === undefined ? "" : JSON.stringify(answer) }
}

/** Load every listed plugin, in order; never throws (a broken one is a `failed` entry). */
export async function loadPlugins(options: PluginsOptions) {
  const log = options.log ?? Log.create("plugins")
  const reserved = new Set(options.reservedCommands)
  const timeoutMs = options.importTimeoutMs ?? 10_000
  const loaded = new Map<string, Loaded>()
  const failed: PluginStatus[] = []
  const order: string[] = []
  const rel = (path: string) =>
    path.startsWith(`${options.workspace}/`) ? path.slice(options.workspace.length + 1) : path
  const empty = (name: string, version = "", entry: string | null = null): PluginStatus => ({
    name,
    version,
    state: "failed",
    reason: null,
    entry,
    tools: [],
    providers: [],
    commands: [],
    routes: [],
    channels: [],
  })

  if (options.names.length) registerSdkModule() // the plugin's `import … from "drost"`
  for (const name of options.names) {
    order.push(name)
    const fail = (reason: string, version = "", entry: string | null = null) => {
      failed.push({ ...empty(name, version, entry), reason })
      log.warn("plugin skipped", { plugin: name, reason })
    }
    if (loaded.has(name) || failed.some((item) => item.name === name)) {
      order.pop()
      continue
    }
    let where: ReturnType<typeof resolvePlugin>
    try {
      where = resolvePlugin(options.workspace, name)
    } catch (error) {
      fail((error as Error).message)
      continue
    }
    let mod: { default?: unknown }
    try {
      mod = (await withTimeout(
        import(where.entry),
        timeoutMs,
        `importing took longer than ${timeoutMs} ms (top-level code that never finishes?)`,
      )) as { default?: unknown }
    } catch (error) {
      fail(`it threw while loading: ${describeError(error)}`, where.version, rel(where.entry))
      continue
    }
    const problem = pluginProblem(mod.default, name, reserved)
    if (problem) {
      fail(problem, where.version, rel(where.entry))
      continue
    }
    const definition = mod.default as PluginDefinition
    // A plugin whose channels are configured by `channels` entries needs no pluginConfig of its own.
    const configured = (definition.channels ?? []).some((channel) =>
      options.channelEntries?.some((entry) => entry.kind === channel.name),
    )
    const settings =
      options.settings[name] === undefined && configured
        ? ({ ok: true, value: undefined } as const)
        : pluginSettings(definition, options.settings[name])
    if (!settings.ok) {
      fail(`invalid settings: ${settings.problems.join("; ")}`, definition.version, rel(where.entry))
      continue
    }
    for (const command of definition.commands ?? []) reserved.add(command.name)
    const status: PluginStatus = {
      name,
      version: definition.version,
      state: "loaded",
      reason: null,
      entry: rel(where.entry),
      tools: (definition.tools ?? []).map((tool) => tool.name),
      providers: (definition.providers ?? []).map((provider) => provider.name),
      commands: (definition.commands ?? []).map((command) => command.name),
      routes: (definition.routes ?? []).map((route) => `${route.method} ${route.path}`),
      channels: (definition.channels ?? []).map((channel) => channel.name),
    }
    loaded.set(name, { definition, settings: settings.value, entry: where.entry, status, log: pluginLogger(name).log })
    log.info("plugin loaded", { plugin: name, version: definition.version, tools: status.tools.length })
  }

  const running: { plugin: string; name: string; stop(graceMs: number): unknown }[] = []

  return {
    /** Every listed plugin, in config order, with its state and, when skipped, why. */
    list(): PluginStatus[] {
      return order.map((name) => loaded.get(name)?.status ?? failed.find((item) => item.name === name) ?? empty(name))
    },

    /** Entry files of the loaded plugins that bring tools: the tool host imports them (tool/loader.ts). */
    toolFiles(): string[] {
      return [...loaded.values()].filter((item) => item.status.tools.length).map((item) => item.entry)
    },

    /**
     * The provider of a `kind: "plugin"` profile (`plugin: "<package>"` picks its first provider,
     * `"<package>:<name>"` that one). Throws with the reason when the plugin is not loaded.
     */
    provider(profile: Profile): Provider {
      const [name, wanted] = (profile.plugin ?? "").split(":") as [string, string | undefined]
      const item = loaded.get(name)
      if (!item) {
        const skipped = failed.find((entry) => entry.name === name)
        throw new Error(
          skipped
            ? `plugin ${name} was not loaded: ${skipped.reason}`
            : `plugin ${JSON.stringify(name)} is not loaded (list it in plugins)`,
        )
      }
      const providers = item.definition.providers ?? []
      const chosen = wanted ? providers.find((provider) => provider.name === wanted) : providers[0]
      if (!chosen)
        throw new Error(
          `plugin ${name} has no provider${wanted ? ` named "${wanted}"` : ""} (it has: ${providers.map((p) => p.name).join(", ") || "none"})`,
        )
      const inner = chosen.create({ profile, config: item.settings, log: pluginLogger(name).sdk })
      if (!inner || typeof inner.stream !== "function")
        throw new Error(`plugin ${name}: provider "${chosen.name}" create() did not return a provider with stream()`)
      return guardProvider(name, profile, inner)
    },

    /** A plugin's slash command by name (without the slash). */
    command(name: string): PluginCommandEntry | undefined {
      for (const item of loaded.values()) {
        const command = item.definition.commands?.find((candidate) => candidate.name === name)
        if (!command) continue
        const sdkLog = pluginLogger(item.status.name).sdk
        return {
          plugin: item.status.name,
          usage: command.usage ?? `/${command.name}`,
          help: command.help,
          run: async (arg, context) =>
            textOf(await command.run(arg, { ...context, config: item.settings, log: sdkLog })),
        }
      }
      return undefined
    },

    /** Every plugin command, for /help. */
    commands(): PluginCommandEntry[] {
      return [...loaded.values()].flatMap((item) =>
        (item.definition.commands ?? []).map((command) => this.command(command.name)!),
      )
    },

    /** Answer a request under /control/v1/plugins/<package><path>; null when no route matches. */
    async route(plugin: string, path: string, request: Request): Promise<Response | null> {
      const item = loaded.get(plugin)
      const route = item?.definition.routes?.find(
        (candidate) => candidate.method === request.method && candidate.path === path,
      )
      if (!item || !route) return null
      try {
        const response = await route.handler(request, { config: item.settings, log: pluginLogger(plugin).sdk })
        if (!(response instanceof Response)) throw new Error("the handler did not return a Response")
        return response
      } catch (error) {
        item.log.warn("route failed", { route: `${route.method} ${route.path}`, error: describeError(error) })
        return Response.json(
          { error: "PluginError", message: `plugin ${plugin}: ${describeError(error)}` },
          { status: 500 },
        )
      }
    },

    /**
     * Start the plugins' channels, each with its channel host (src/channels/plugin-host.ts: what a
     * built-in channel runs on). A channel that throws is noted on its plugin (status) and the others
     * start anyway; a channel name another plugin took first is refused the same way.
     */
    async startChannels(
      hostFor: (
        channel: string,
        component: string,
      ) => {
        host: Omit<PluginChannelHost, "config" | "log">
        close?(graceMs: number): Promise<void>
      },
    ) {
      const taken = new Set<string>()
      for (const item of loaded.values()) {
        for (const channel of item.definition.channels ?? []) {
          if (taken.has(channel.name)) {
            item.status.reason = `channel ${channel.name} did not start: another plugin has a channel of that name`
            item.log.warn("channel did not start", { channel: channel.name, error: "name taken" })
            continue
          }
          taken.add(channel.name)
          for (const instance of this.instances(channel.name)) {
            const { component } = instance
            const hosted = hostFor(channel.name, component)
            if (!instance.settings.ok) {
              const reason = `invalid settings: ${instance.settings.problems.join("; ")}`
              hosted.host.health(`not started: ${reason}`)
              await hosted.close?.(0)
              item.status.reason = `channel ${component} did not start: ${reason}`
              item.log.warn("channel did not start", { channel: component, error: reason })
              continue
            }
            try {
              const handle = await channel.start({
                ...hosted.host,
                config: instance.settings.value,
                log: pluginLogger(item.status.name).sdk,
              })
              running.push({
                plugin: item.status.name,
                name: component,
                stop: async (graceMs) => {
                  try {
                    await handle?.stop?.(graceMs)
                  } finally {
                    await hosted.close?.(graceMs)
                  }
                },
              })
            } catch (error) {
              await hosted.close?.(0)
              item.status.reason = `channel ${component} did not start: ${describeError(error)}`
              item.log.warn("channel did not start", { channel: component, error: describeError(error) })
            }
          }
        }
      }
    },

    /**
     * The instances of a plugin's channel: one per `channels` entry of its kind (`<name>`, `<name>#2`, …,
     * settings checked with the channel's schema), or, without any, one with the plugin's pluginConfig.
     * Empty when no loaded plugin has a channel of that name.
     */
    instances(name: string): {
      component: string
      plugin: string
      index: number | null
      settings: { ok: true; value: unknown } | { ok: false; problems: string[] }
    }[] {
      const item = [...loaded.values()].find((candidate) =>
        candidate.definition.channels?.some((channel) => channel.name === name),
      )
      const channel = item?.definition.channels?.find((candidate) => candidate.name === name)
      if (!item || !channel) return []
      const entries = (options.channelEntries ?? []).filter((entry) => entry.kind === name)
      if (!entries.length)
        return [
          { component: name, plugin: item.status.name, index: null, settings: { ok: true, value: item.settings } },
        ]
      return entries.map((entry, n) => ({
        component: n === 0 ? name : `${name}#${n + 1}`,
        plugin: item.status.name,
        index: entry.index,
        settings: channelSettings(item.definition, channel, entry.settings, `channels[${entry.index}]`),
      }))
    },

    /** The live check of an instance (`drost setup`, `drost doctor`); null when its channel has none. */
    async check(
      name: string,
      component: string,
    ): Promise<{ ok: true; identity: string } | { ok: false; problem: string } | null> {
      const item = [...loaded.values()].find((candidate) =>
        candidate.definition.channels?.some((channel) => channel.name === name),
      )
      const channel = item?.definition.channels?.find((candidate) => candidate.name === name)
      const instance = this.instances(name).find((candidate) => candidate.component === component)
      if (!item || !channel?.check || !instance) return null
      if (!instance.settings.ok)
        return { ok: false, problem: `invalid settings: ${instance.settings.problems.join("; ")}` }
      try {
        const found = await withTimeout(
          Promise.resolve(channel.check({ config: instance.settings.value, log: pluginLogger(item.status.name).sdk })),
          timeoutMs * 3,
          `the check took longer than ${timeoutMs * 3} ms`,
        )
        if (found?.ok === true && typeof found.identity === "string") return { ok: true, identity: found.identity }
        if (found?.ok === false && typeof found.problem === "string") return { ok: false, problem: found.problem }
        return { ok: false, problem: "the check returned neither { ok: true, identity } nor { ok: false, problem }" }
      } catch (error) {
        return { ok: false, problem: describeError(error) }
      }
    },

    /** Stop the running channels (gateway stop); a channel that throws there is logged. */
    async stopChannels(graceMs = 0) {
      await Promise.all(
        running
          .splice(0)
          .reverse()
          .map(async (channel) => {
            try {
              await channel.stop(graceMs)
            } catch (error) {
              log.warn("plugin channel failed to stop", {
                plugin: channel.plugin,
                channel: channel.name,
                error: String(error),
              })
            }
          }),
      )
    },
  }
}

export type Plugins = Awaited<ReturnType<typeof loadPlugins>>
