/**
 * Commands on every channel: one registry (src/gateway/commands.ts, plus plugin commands), dispatched
 * with the conversation's current session, answered at once (never queued behind the turn they are
 * about, so /stop reaches it). This is the list a channel registers with its platform: Telegram's
 * command menu, Discord's slash commands, Slack's.
 */
import { COMMANDS } from "../gateway/commands.ts"
import type { Gateway } from "../gateway/gateway.ts"

/** Not offered in a platform's command menu: meaningless in a chat. */
export const HIDDEN_COMMANDS = new Set(["quit"])

/** The built-in and plugin commands a channel registers with its platform (menu, slash commands). */
export function commandMenu(gw: Gateway): { name: string; usage: string; help: string }[] {
  const builtin = Object.entries(COMMANDS)
    .filter(([name]) => !HIDDEN_COMMANDS.has(name))
    .map(([name, spec]) => ({ name, usage: spec.usage, help: spec.help }))
  const plugins = (gw.plugins?.commands() ?? []).map((entry) => ({
    name: entry.usage.replace(/^\//, "").split(/\s/)[0]!,
    usage: entry.usage,
    help: entry.help,
  }))
  return [...builtin, ...plugins]
}
