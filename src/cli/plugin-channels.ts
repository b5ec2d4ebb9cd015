/**
 * The live checks of plugins' channels (PluginChannel.check, src/sdk/plugin.ts) for `drost doctor` and
 * `drost setup`: the workspace's plugins are loaded as the gateway loads them (their code runs here,
 * as it does in the gateway), and each instance of a channel that exports a check (one per `channels`
 * entry of its kind, or the one on its pluginConfig) is asked who its credentials are. A plugin that
 * did not load, and an entry whose kind no plugin offers, are failures too: the gateway would not start
 * that channel either.
 */
import type { Config } from "../core/config.ts"
import { startPlugins } from "../gateway/plugins.ts"

export interface PluginChannelCheck {
  name: string
  status: "ok" | "warn" | "fail"
  detail: string
  fix?: string
}

export async function pluginChannelChecks(config: Config, options: { offline?: boolean } = {}) {
  const entries = config.pluginChannels ?? []
  if (!config.plugins?.length && !entries.length) return []
  const plugins = await startPlugins(config)
  const out: PluginChannelCheck[] = []
  const offered = new Set<string>()
  for (const plugin of plugins.list()) {
    if (plugin.state !== "loaded") {
      out.push({
        name: `plugin ${plugin.name}`,
        status: "fail",
        detail: `not loaded: ${plugin.reason}`,
        fix: "see docs/plugins.md#when-a-plugin-fails",
      })
      continue
    }
    for (const channel of plugin.channels) {
      offered.add(channel)
      for (const instance of plugins.instances(channel)) {
        const name = `${instance.component} channel`
        if (!instance.settings.ok) {
          out.push({
            name,
            status: "fail",
            detail: `invalid settings: ${instance.settings.problems.join("; ")}`,
            fix: "correct the settings (the plugin's schema, docs/plugins.md#channels)",
          })
          continue
        }
        if (options.offline) continue
        const result = await plugins.check(channel, instance.component)
        if (!result) continue // the channel exports no check
        out.push(
          result.ok
            ? { name, status: "ok", detail: result.identity }
            : { name, status: "fail", detail: result.problem, fix: `check the ${channel} settings of ${plugin.name}` },
        )
      }
    }
  }
  for (const entry of entries)
    if (!offered.has(entry.kind))
      out.push({
        name: `channels[${entry.index}]`,
        status: "fail",
        detail: `no loaded plugin has a channel "${entry.kind}"`,
        fix: "list the plugin that has it in plugins, or correct the kind",
      })
  return out
}
