/**
 * Drost's commands as Discord slash commands, from the one registry (src/gateway/commands.ts and plugin
 * commands, through the host's command menu): each
 * becomes `/<name>` with its help as the description and, when its usage takes arguments, one optional
 * string option `args`. Registered with a bulk overwrite at start (the list Discord shows is exactly
 * ours). An invocation is acknowledged at once (deferred, within Discord's 3 seconds), run through the
 * same dispatcher as every surface, and the answer replaces the "thinking…" placeholder; a listing is
 * shown in a code block.
 */
import type {
  API,
  APIChatInputApplicationCommandInteraction,
  RESTPutAPIApplicationCommandsJSONBody,
} from "@discordjs/core"
import type { CommandReply } from "../../gateway/commands.ts"
import { MESSAGE_LIMIT, split } from "./split.ts"

const STRING = 3
const NAME = /^[a-z0-9_-]{1,32}$/
const cut = (text: string) => (text.length > 100 ? `${text.slice(0, 99)}…` : text)

/** The channel's command menu (host.commandMenu(): built-in and plugin commands) as slash commands. */
export function slashCommands(
  menu: { name: string; usage: string; help: string }[],
): RESTPutAPIApplicationCommandsJSONBody {
  const seen = new Set<string>()
  return menu
    .filter((command) => NAME.test(command.name) && !seen.has(command.name) && seen.add(command.name))
    .map((command) => ({
      name: command.name,
      type: 1,
      description: cut(command.help || command.name),
      ...(/\s/.test(command.usage.trim())
        ? { options: [{ type: STRING, name: "args", description: cut(command.usage), required: false }] }
        : {}),
    }))
}

/** The command line an invocation stands for: `/name args`. */
export function lineOf(interaction: APIChatInputApplicationCommandInteraction): string {
  const args = interaction.data.options?.find((option) => option.name === "args")
  const value = args && "value" in args ? String(args.value) : ""
  return `/${interaction.data.name}${value ? ` ${value}` : ""}`
}

/** A command's answer as Discord messages (a listing as code). */
export function render(reply: CommandReply): string[] {
  const text = reply.text.trim() || "(no output)"
  if (!reply.listing) return split(text)
  const body = text.replaceAll("```", "`\u200b``")
  return body.length <= MESSAGE_LIMIT - 8 ? [`\`\`\`\n${body}\n\`\`\``] : split(`\`\`\`\n${body}\n\`\`\``)
}

/** Replace the deferred placeholder with the first piece, the rest as follow-ups. */
export async function answer(api: API, applicationId: string, token: string, pieces: string[]) {
  const [first, ...rest] = pieces
  await api.interactions.editReply(applicationId, token, { content: first ?? "(no output)" })
  for (const piece of rest) await api.interactions.followUp(applicationId, token, { content: piece })
}
