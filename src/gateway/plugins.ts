/**
 * The gateway's side of plugins (src/plugins): loading them with the built-in command names reserved,
 * and what a plugin channel may ask of the running gateway (a turn, a slash command), as the channel
 * it is. Kept out of gateway.ts so the composition root stays a list of services.
 */
import type { Config } from "../core/config.ts"
import { loadPlugins } from "../plugins/plugins.ts"
import type { PluginChannelContext } from "../sdk/plugin.ts"
import { Log } from "../util/log.ts"
import { COMMANDS, dispatch } from "./commands.ts"
import type { Gateway } from "./gateway.ts"

export function startPlugins(config: Config) {
  return loadPlugins({
    workspace: config.workspaceDir,
    names: config.plugins ?? [],
    settings: config.pluginConfig ?? {},
    channelEntries: config.pluginChannels ?? [],
    // Built-in commands and their aliases: a plugin cannot take /status or /abort away.
    reservedCommands: [...Object.keys(COMMANDS), "abort"],
    log: Log.create("plugins"),
  })
}

export function channelContext(gw: Gateway, channel: string): Omit<PluginChannelContext, "config" | "log"> {
  return {
    async send({ text, sessionId }) {
      const id = sessionId ?? (await gw.sessions.create({ channel })).id
      const result = await (await gw.sessions.prompt({ sessionId: id, text, source: channel })).done
      return {
        sessionId: id,
        text: result.status === "completed" ? result.text : result.text || `(${result.status}: ${result.reason})`,
      }
    },
    async command(line, sessionId = null) {
      let current = sessionId
      const reply = await dispatch(gw, { channel, sessionId, setSession: (id) => (current = id) }, line)
      return reply ? { text: reply.text, sessionId: current } : null
    },
  }
}
