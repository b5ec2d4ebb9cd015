/**
 * The channel kinds, by the config's `kind`, loaded on first use (a gateway without Discord never
 * imports discord.js). `drost start` starts one instance per `channels` entry after the gateway is up
 * and stops them before it drains; each instance also registers its schedule delivery.
 *
 * Instances are named per kind: the first of a kind is `<kind>`, the next `<kind>#2`, … (health
 * reasons, logs, and the `deliver.channel` of schedules).
 */
import type { Gateway } from "../gateway/gateway.ts"
import { Log } from "../util/log.ts"
import type { ChannelDefinition, ChannelRuntime } from "./contract.ts"
import { createPluginChannelHost } from "./plugin-host.ts"

// biome-ignore lint/suspicious/noExplicitAny: each kind has its own config type
type Loader = () => Promise<ChannelDefinition<any>>

/** Add a kind here (one line) and its config to src/core/channel-config.ts. */
export const CHANNEL_KINDS: Record<string, Loader> = {
  telegram: () => import("./telegram/index.ts").then((module) => module.telegram),
  discord: () => import("./discord/index.ts").then((module) => module.discord),
  slack: () => import("./slack/index.ts").then((module) => module.slack),
}

export interface Channels {
  stop(): Promise<void>
}

/** `<kind>` for the first entry of a kind, `<kind>#<n>` for the n-th. */
export function componentNames(entries: readonly { kind: string }[]): string[] {
  const seen = new Map<string, number>()
  return entries.map((entry) => {
    const n = (seen.get(entry.kind) ?? 0) + 1
    seen.set(entry.kind, n)
    return n === 1 ? entry.kind : `${entry.kind}#${n}`
  })
}

export async function loadChannel(kind: string): Promise<ChannelDefinition<unknown>> {
  const load = CHANNEL_KINDS[kind]
  if (!load) throw new Error(`unknown channel kind "${kind}" (known: ${Object.keys(CHANNEL_KINDS).join(", ")})`)
  return await load()
}

/**
 * Start every configured channel and register its deliveries, then the plugins' channels, each on its
 * channel host (plugin-host.ts: the same blocks). A kind that fails to load degrades only itself.
 */
export async function startChannels(gw: Gateway): Promise<Channels> {
  const log = Log.create("channels")
  const entries = (gw.config.channels ?? []) as readonly { kind: string }[]
  const names = componentNames(entries)
  const running: ChannelRuntime[] = []
  for (const [index, entry] of entries.entries()) {
    const component = names[index]!
    try {
      const definition = await loadChannel(entry.kind)
      const channel = definition.create(gw, entry, component)
      definition.registerDelivery?.(gw, entry, component)
      channel.start()
      running.push(channel)
    } catch (error) {
      log.error("channel not started", { component, error: String(error) })
      gw.setHealth(component, `not started: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  // Plugins' channels: one instance per `channels` entry of its kind (or one with its pluginConfig). An
  // entry whose kind no loaded plugin offers degrades only its own name.
  const offered = new Set(gw.plugins?.list().flatMap((plugin) => (plugin.state === "loaded" ? plugin.channels : [])))
  const pluginEntries = gw.config.pluginChannels ?? []
  for (const [index, entry] of pluginEntries.entries())
    if (!offered.has(entry.kind)) {
      const component = componentNames(pluginEntries)[index]!
      log.error("channel not started", { component, error: "no plugin has this channel" })
      gw.setHealth(
        component,
        `not started: unknown channel kind "${entry.kind}" (built in: ${Object.keys(CHANNEL_KINDS).join(", ")}; no listed plugin has a channel of that name)`,
      )
    }
  await gw.plugins?.startChannels((name, component) => createPluginChannelHost(gw, name, component))
  return {
    async stop() {
      await Promise.all([
        ...running.map((channel) => channel.stop(gw.config.shutdown.graceMs)),
        gw.plugins?.stopChannels(gw.config.shutdown.graceMs),
      ])
    },
  }
}
