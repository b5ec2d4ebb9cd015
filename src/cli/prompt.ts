/**
 * `drost prompt show [session]`: prints exactly what the next turn of a session would send — the
 * system prompt (with the size of each part), the tool definitions and the history view after any
 * summary — and how the window's budget is split. `--json` prints the same as one JSON object.
 */
import { defineCommand } from "citty"
import type { Part } from "../core/message.ts"
import type { PromptPreview } from "../gateway/continuity.ts"
import { attachArgs } from "./attach.ts"
import { ask, where } from "./reach.ts"

function part(part: Part): string {
  switch (part.type) {
    case "text":
      return part.text
    case "reasoning":
      return `(reasoning) ${part.text}`
    case "image":
      return `[image ${part.mediaType}]`
    case "tool-call":
      return `→ ${part.name} ${JSON.stringify(part.args ?? {})}  (call ${part.id})`
    case "tool-result":
      return `← ${part.name}${part.isError ? " (error)" : ""}  (call ${part.callId})\n${part.output}`
  }
}

export function render(preview: PromptPreview): string {
  const rule = (title: string) => `──── ${title} ${"─".repeat(Math.max(0, 60 - title.length))}`
  const lines = [
    `session ${preview.sessionId ?? "(none: no history)"} · provider ${preview.provider}`,
    `window ${preview.windowTokens} tokens: system ${preview.system.tokens} + tools ${preview.toolTokens} + history ${preview.historyTokens} of ${preview.budget} budgeted (estimated, ~4 characters per token)`,
    "",
    "system prompt parts:",
    ...preview.system.sections.map(
      (section) =>
        `  ${section.name.padEnd(24)} ${String(section.tokens).padStart(6)} tokens${section.clipped ? "  (cut to its budget)" : ""}`,
    ),
    `tools: ${preview.tools.map((tool) => tool.name).join(", ") || "none"}`,
    `history: ${preview.history.length} messages${preview.summaryUpto !== null ? `, starting with a summary of messages up to #${preview.summaryUpto}` : ""}`,
    "",
    rule("system"),
    preview.system.text,
    "",
    rule("history"),
    ...preview.history.map((message) => `[${message.role}]\n${message.parts.map(part).join("\n")}\n`),
  ]
  return `${lines.join("\n")}\n`
}

const show = defineCommand({
  meta: {
    name: "show",
    description: "Print what the next turn of a session would send (system prompt, tools, history view)",
  },
  args: {
    session: { type: "positional", required: false, description: "Session id (default: no session, so no history)" },
    json: { type: "boolean", description: "Print one JSON object" },
    ...attachArgs,
  },
  async run({ args }) {
    const session = args.session as string | undefined
    const preview = await ask(
      where(args),
      { mode: "read", tools: true },
      async (gw) => {
        const found = session ? await gw.sessions.get(session) : null
        return gw.continuity.preview(found?.id ?? null, found?.provider ?? gw.config.providers.defaultSessionProvider)
      },
      async (api) => (await api(`/prompt${session ? `?session=${encodeURIComponent(session)}` : ""}`)) as PromptPreview,
    )
    process.stdout.write(args.json ? `${JSON.stringify(preview, null, 2)}\n` : render(preview))
  },
})

export const promptCommand = defineCommand({
  meta: { name: "prompt", description: "Inspect the prompt a turn sends" },
  subCommands: { show },
})
