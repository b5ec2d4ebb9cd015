/**
 * The non-interactive side of `drost setup`: every question's flag and environment variable, and how
 * flags become answers. A prompt is asked only for what these leave open; with `--yes` or without a
 * terminal nothing is asked at all.
 */
import type { ProviderKind } from "../core/config.ts"
import { Flag } from "../util/flag.ts"
import { DEFAULT_BASE_URL } from "./probe.ts"

export const PROVIDER_KINDS = [
  "openai",
  "anthropic",
  "xai",
  "openai-compatible",
  "demo",
] as const satisfies readonly ProviderKind[]
export const PROVIDER_LABEL: Record<ProviderKind, string> = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  xai: "xAI (Grok)",
  "openai-compatible": "OpenAI-compatible server (vLLM, Ollama, LM Studio, …)",
  demo: "Demo (offline, no key)",
}
/** Profile id written for each kind. */
export const PROFILE_ID: Record<ProviderKind, string> = {
  openai: "openai",
  anthropic: "anthropic",
  xai: "xai",
  "openai-compatible": "compatible",
  demo: "demo",
}

/** Per kind: the key flag and variable, the base URL flag and variable. */
export const PROVIDER_FLAGS: Record<
  Exclude<ProviderKind, "demo">,
  { key: string; keyEnv: string; url: string; urlEnv: string }
> = {
  openai: { key: "openai-key", keyEnv: "OPENAI_API_KEY", url: "openai-base-url", urlEnv: "OPENAI_BASE_URL" },
  anthropic: {
    key: "anthropic-key",
    keyEnv: "ANTHROPIC_API_KEY",
    url: "anthropic-base-url",
    urlEnv: "ANTHROPIC_BASE_URL",
  },
  xai: { key: "xai-key", keyEnv: "XAI_API_KEY", url: "xai-base-url", urlEnv: "XAI_BASE_URL" },
  "openai-compatible": {
    key: "compatible-key",
    keyEnv: "DROST_COMPATIBLE_API_KEY",
    url: "compatible-url",
    urlEnv: "DROST_COMPATIBLE_URL",
  },
}

export const setupArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace folder to set up (default: DROST_WORKSPACE or the current folder)",
  },
  yes: {
    type: "boolean",
    alias: "y",
    description: "Ask nothing: take flags, then environment variables, then defaults",
  },
  provider: {
    type: "string",
    description: `Providers, comma-separated: ${PROVIDER_KINDS.join(", ")} (default with --yes: those with a key in the environment, else demo)`,
  },
  "default-provider": { type: "string", description: "Profile id new sessions use (default: the first provider)" },
  "openai-key": {
    type: "string",
    description: "OpenAI API key (env OPENAI_API_KEY; prefer the variable, flags show up in `ps`)",
  },
  "anthropic-key": { type: "string", description: "Anthropic API key (env ANTHROPIC_API_KEY)" },
  "xai-key": { type: "string", description: "xAI API key (env XAI_API_KEY)" },
  "compatible-key": {
    type: "string",
    description: "Key for the OpenAI-compatible server, if it wants one (env DROST_COMPATIBLE_API_KEY)",
  },
  "compatible-url": {
    type: "string",
    description: "Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (env DROST_COMPATIBLE_URL)",
  },
  "compatible-model": {
    type: "string",
    description:
      "Model name on the OpenAI-compatible server (env DROST_COMPATIBLE_MODEL; default: the server's only model, or the first it lists)",
  },
  "openai-base-url": {
    type: "string",
    description: `OpenAI API root (env OPENAI_BASE_URL; default ${DEFAULT_BASE_URL.openai})`,
  },
  "anthropic-base-url": {
    type: "string",
    description: `Anthropic API root (env ANTHROPIC_BASE_URL; default ${DEFAULT_BASE_URL.anthropic})`,
  },
  "xai-base-url": { type: "string", description: `xAI API root (env XAI_BASE_URL; default ${DEFAULT_BASE_URL.xai})` },
  telegram: {
    type: "boolean",
    description: "Set up the Telegram bot (default: no)",
    negativeDescription: "Skip Telegram",
  },
  "telegram-token": {
    type: "string",
    description: "Bot token from @BotFather (env TELEGRAM_BOT_TOKEN); implies --telegram",
  },
  "telegram-owner": {
    type: "string",
    description: "Your numeric Telegram user id, the only user allowed at first (env DROST_TELEGRAM_OWNER)",
  },
  "telegram-api-root": {
    type: "string",
    description: "Bot API root (env TELEGRAM_API_ROOT; default https://api.telegram.org)",
  },
  slack: {
    type: "boolean",
    description: "Set up a Slack app over Socket Mode (default: no; docs/slack.md)",
    negativeDescription: "Skip Slack",
  },
  "slack-app-token": {
    type: "string",
    description: "Slack app-level token xapp-… (env SLACK_APP_TOKEN); implies --slack",
  },
  "slack-bot-token": { type: "string", description: "Slack bot token xoxb-… (env SLACK_BOT_TOKEN)" },
  "slack-owner": {
    type: "string",
    description: "Your Slack member id (U…), the only user allowed at first (env DROST_SLACK_OWNER)",
  },
  "slack-api-url": {
    type: "string",
    description: "Slack Web API root (env SLACK_API_URL; default https://slack.com/api/)",
  },
  discord: {
    type: "boolean",
    description: "Set up a Discord bot (default: no; docs/discord.md)",
    negativeDescription: "Skip Discord",
  },
  "discord-token": {
    type: "string",
    description: "Discord bot token (env DISCORD_BOT_TOKEN); implies --discord",
  },
  "discord-owner": {
    type: "string",
    description: "Your Discord user id, the only user allowed at first (env DROST_DISCORD_OWNER)",
  },
  "discord-api-root": {
    type: "string",
    description: "Discord REST API root (env DISCORD_API_ROOT; default https://discord.com/api)",
  },
  port: {
    type: "string",
    description: "Control API port (default 7420, or the next free one; 0 picks a free port at each start)",
  },
  "new-token": { type: "boolean", description: "Generate a new Control API admin token even if one exists" },
  "skip-probe": { type: "boolean", description: "Do not contact the providers or Telegram to check keys" },
  force: { type: "boolean", description: "Overwrite existing files without asking" },
} as const

export type SetupFlags = {
  [K in keyof typeof setupArgs]?: (typeof setupArgs)[K]["type"] extends "boolean" ? boolean : string
}

/** Flag first, then the environment. */
export function pick(flags: SetupFlags, flag: keyof SetupFlags, env?: string): string | undefined {
  const value = flags[flag]
  if (typeof value === "string" && value !== "") return value
  return env ? Flag.get(env) : undefined
}

export class SetupInputError extends Error {}

export function parseProviders(list: string): ProviderKind[] {
  const kinds = list
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean)
    .map((item) => (item === "compatible" ? "openai-compatible" : item))
  for (const kind of kinds)
    if (!(PROVIDER_KINDS as readonly string[]).includes(kind))
      throw new SetupInputError(`--provider: unknown provider "${kind}"; one of ${PROVIDER_KINDS.join(", ")}`)
  if (kinds.length === 0) throw new SetupInputError("--provider: name at least one provider")
  return [...new Set(kinds)] as ProviderKind[]
}

/** Providers chosen by flag, else (for defaults) the ones whose key is in the environment. */
export function providersFromFlags(flags: SetupFlags): ProviderKind[] | null {
  return flags.provider ? parseProviders(flags.provider) : null
}

export function detectedProviders(): ProviderKind[] {
  const found = (["openai", "anthropic", "xai"] as const).filter((kind) => Flag.get(PROVIDER_FLAGS[kind].keyEnv))
  return found.length > 0 ? found : ["demo"]
}

export function parsePort(text: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SetupInputError(`--port expects 0–65535, got "${text}"`)
  return port
}

export function parseOwner(text: string): number {
  const id = Number(text)
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new SetupInputError(`the Telegram owner must be a numeric user id, got "${text}"`)
  return id
}

/** Printed when there is no terminal to ask in and `--yes` was not given. */
export function guidance(): string {
  return [
    "drost setup: no terminal to ask questions in (stdin or stdout is not a TTY).",
    "Run it in a terminal, or answer everything with flags and add --yes, for example:",
    "",
    "  OPENAI_API_KEY=sk-… drost setup --yes --provider openai",
    "  drost setup --yes --provider openai-compatible --compatible-url http://127.0.0.1:8000/v1 --compatible-model qwen3",
    "  TELEGRAM_BOT_TOKEN=… drost setup --yes --provider anthropic --telegram --telegram-owner 123456789",
    "",
    "Flags (environment variable in brackets):",
    "  --provider <list>         openai, anthropic, xai, openai-compatible, demo (default: keys found in the environment, else demo)",
    "  --openai-key              [OPENAI_API_KEY]        --openai-base-url     [OPENAI_BASE_URL]",
    "  --anthropic-key           [ANTHROPIC_API_KEY]     --anthropic-base-url  [ANTHROPIC_BASE_URL]",
    "  --xai-key                 [XAI_API_KEY]           --xai-base-url        [XAI_BASE_URL]",
    "  --compatible-url          [DROST_COMPATIBLE_URL]  --compatible-model    [DROST_COMPATIBLE_MODEL]",
    "  --compatible-key          [DROST_COMPATIBLE_API_KEY]",
    "  --default-provider <id>   --telegram / --no-telegram",
    "  --telegram-token          [TELEGRAM_BOT_TOKEN]    --telegram-owner <id> [DROST_TELEGRAM_OWNER]",
    "  --port <n> (default 7420) --new-token  --skip-probe  --force (overwrite files)  -w <folder>",
    "",
    "See `drost setup --help` and docs/install.md.",
  ].join("\n")
}
