/**
 * What `drost setup` writes into a workspace: the config, the system prompt, an example tool, the memory
 * folder and a .gitignore for the state folder. The default prompt is the repository's own
 * `prompts/system.md`, inlined at build time, so the binary carries it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { ProviderKind } from "../core/config.ts"
import { resolveConfig } from "../gateway/load.ts"
import defaultSystemPrompt from "../../prompts/system.md" with { type: "text" }

export const SYSTEM_PROMPT = defaultSystemPrompt

export interface ProviderAnswer {
  id: string
  kind: ProviderKind
  apiKey?: string
  baseUrl?: string
  model?: string
}

export interface SetupAnswers {
  providers: ProviderAnswer[]
  defaultProvider: string
  telegram: { token: string; ownerId: number; apiRoot?: string } | null
  /** A Slack app (docs/slack.md): its tokens go to the auth file, the owner's user id to allowedUsers. */
  slack?: { appToken: string; botToken: string; ownerId: string; apiUrl?: string } | null
  /** A Discord bot (docs/discord.md): its token goes to the auth file, the owner's user id to allowedUsers. */
  discord?: { token: string; ownerId: string; apiRoot?: string } | null
  controlApi: { port: number }
}

/** The config value. Keys never appear in it: profiles point at entries of the auth file. */
export function configValue(answers: SetupAnswers, withTelegram: boolean): Record<string, unknown> {
  const profiles = answers.providers.map((provider) => ({
    id: provider.id,
    kind: provider.kind,
    ...(provider.model ? { model: provider.model } : {}),
    ...(provider.baseUrl ? { baseUrl: provider.baseUrl } : {}),
    ...(provider.apiKey ? { authProfile: provider.id } : {}),
  }))
  const value: Record<string, unknown> = {
    providers: { defaultSessionProvider: answers.defaultProvider, profiles },
    controlApi: { port: answers.controlApi.port },
  }
  if (withTelegram && answers.telegram)
    value.channels = [
      {
        kind: "telegram",
        authProfile: "telegram",
        allowedUsers: [answers.telegram.ownerId],
        ...(answers.telegram.apiRoot ? { apiRoot: answers.telegram.apiRoot } : {}),
      },
    ]
  if (answers.discord)
    value.channels = [
      ...((value.channels as unknown[] | undefined) ?? []),
      {
        kind: "discord",
        authProfile: "discord",
        allowedUsers: [answers.discord.ownerId],
        ...(answers.discord.apiRoot ? { apiRoot: answers.discord.apiRoot } : {}),
      },
    ]
  if (answers.slack)
    value.channels = [
      ...((value.channels as unknown[] | undefined) ?? []),
      {
        kind: "slack",
        authProfile: "slack",
        allowedUsers: [answers.slack.ownerId],
        ...(answers.slack.apiUrl ? { apiUrl: answers.slack.apiUrl } : {}),
      },
    ]
  return value
}

/**
 * The config to write, checked with the same validation `drost start` runs. When this build's schema
 * has no Telegram channel section, the config is written without it and `telegramDropped` says so.
 */
export function buildConfig(
  answers: SetupAnswers,
  root: string,
): { value: Record<string, unknown>; telegramDropped: boolean } {
  if (answers.telegram) {
    const value = configValue(answers, true)
    try {
      resolveConfig(value, root, null)
      return { value, telegramDropped: false }
    } catch {
      // fall through: validate without the channel
    }
  }
  const value = configValue(answers, false)
  resolveConfig(value, root, null)
  return { value, telegramDropped: Boolean(answers.telegram) }
}

export function configSource(value: Record<string, unknown>): string {
  return `import { defineConfig } from "drost"

// Written by \`drost setup\`. API keys live in .drost/auth-profiles.json (mode 0600), not here.
// Reference: docs/configuration.md. Check it any time with \`drost doctor\`.
export default defineConfig(${JSON.stringify(value, null, 2)})
`
}

const EXAMPLE_TOOL = `import { defineTool } from "drost"

// An example workspace tool. Edit it or add more files here; changes apply on the next turn.
export default defineTool<{ timeZone?: string }>({
  name: "clock",
  description: "The current date and time, optionally in an IANA time zone such as Europe/Berlin.",
  parameters: { type: "object", properties: { timeZone: { type: "string" } } },
  execute({ timeZone }) {
    return new Date().toLocaleString("en-GB", { timeZone, dateStyle: "full", timeStyle: "long" })
  },
})
`

const MEMORY_README = `# Memory

Notes the agent keeps across sessions live in this folder (Markdown). The agent may write here; so may you.
`

/** Files of a fresh workspace, path → contents. */
export function workspaceFiles(config: Record<string, unknown>): Record<string, string> {
  return {
    "drost.config.ts": configSource(config),
    "prompts/system.md": SYSTEM_PROMPT.endsWith("\n") ? SYSTEM_PROMPT : `${SYSTEM_PROMPT}\n`,
    "tools/clock.ts": EXAMPLE_TOOL,
    "memory/README.md": MEMORY_README,
  }
}

export type WriteOutcome = "written" | "kept" | "unchanged"

/**
 * Writes each file unless it exists: then `overwrite(path)` decides (a prompt, `--force`, or no).
 * Identical contents count as unchanged and are never asked about.
 */
export async function writeFiles(
  root: string,
  files: Record<string, string>,
  overwrite: (path: string) => Promise<boolean>,
): Promise<Record<string, WriteOutcome>> {
  const outcome: Record<string, WriteOutcome> = {}
  for (const [path, contents] of Object.entries(files)) {
    const file = join(root, path)
    if (existsSync(file)) {
      if ((await Bun.file(file).text()) === contents) {
        outcome[path] = "unchanged"
        continue
      }
      if (!(await overwrite(path))) {
        outcome[path] = "kept"
        continue
      }
    }
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, contents)
    outcome[path] = "written"
  }
  return outcome
}

/** Adds `.drost/` (state, keys, tokens) to .gitignore, creating it if needed; other lines are kept. */
export function ignoreState(root: string): boolean {
  const file = join(root, ".gitignore")
  const current = existsSync(file) ? readFileSync(file, "utf8") : ""
  if (current.split(/\r?\n/).some((line) => line.trim() === ".drost/" || line.trim() === ".drost")) return false
  writeFileSync(file, `${current}${current && !current.endsWith("\n") ? "\n" : ""}.drost/\n`)
  return true
}
