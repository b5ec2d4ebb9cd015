/**
 * The `channels` section of the configuration: one entry per chat front end, a discriminated union on
 * `kind` (telegram, discord, slack: slack-config.ts), so another channel is one more member.
 */
import { type Issue, type Static, Type } from "./schema.ts"
import { SlackChannel, type SlackConfig } from "./slack-config.ts"

const closed = { additionalProperties: false } as const

export const TelegramGroups = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: "Answer in group chats at all (off by default)" }),
    allowed: Type.Array(Type.Integer(), {
      default: [],
      description: "Group chat ids (negative numbers) the bot may answer in",
    }),
    members: Type.Union([Type.Literal("allowed"), Type.Literal("all")], {
      default: "allowed",
      description: '"allowed": only allowed users are answered in a group; "all": any member of an allowed group',
    }),
  },
  closed,
)

export const TelegramChannel = Type.Object(
  {
    kind: Type.Literal("telegram"),
    token: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Bot token from @BotFather (prefer tokenEnv or authProfile: config files get shared)",
      }),
    ),
    tokenEnv: Type.Optional(
      Type.String({ minLength: 1, description: "Environment variable holding the token (default TELEGRAM_BOT_TOKEN)" }),
    ),
    authProfile: Type.Optional(
      Type.String({ minLength: 1, description: "Entry in .drost/auth-profiles.json whose `token` is the bot token" }),
    ),
    allowedUsers: Type.Array(Type.Integer(), { default: [], description: "Telegram user ids that reach the agent" }),
    pairing: Type.Boolean({
      default: false,
      description: "Unknown users get a one-time code the owner approves with `drost telegram approve <code>`",
    }),
    groups: Type.Optional(Type.Partial(TelegramGroups, { ...closed, default: {} })),
    apiRoot: Type.Optional(
      Type.String({ minLength: 1, description: "Bot API server (default https://api.telegram.org)" }),
    ),
    pollTimeoutSec: Type.Integer({
      minimum: 0,
      maximum: 50,
      default: 30,
      description: "Long-poll timeout of getUpdates",
    }),
    stallMs: Type.Integer({
      minimum: 100,
      default: 15_000,
      description: "A getUpdates open this much longer than its timeout is restarted",
    }),
    editIntervalMs: Type.Integer({
      minimum: 250,
      default: 1000,
      description: "Minimum gap between edits of a streamed reply, per chat",
    }),
    albumWaitMs: Type.Integer({
      minimum: 0,
      default: 800,
      description: "How long to wait for the rest of an album before its turn starts",
    }),
  },
  closed,
)
export type TelegramChannelInput = Static<typeof TelegramChannel>

/** A Telegram channel after defaults: `groups` filled in. */
export type TelegramConfig = Omit<TelegramChannelInput, "groups"> & { groups: Static<typeof TelegramGroups> }

/** A Discord id (user, guild, channel): a snowflake, kept as a string (it exceeds 2^53). */
const Snowflake = Type.String({ pattern: "^\\d{15,21}$", description: "A Discord id (Developer Mode → Copy ID)" })

export const DiscordGuild = Type.Object(
  {
    id: Snowflake,
    channels: Type.Array(Snowflake, {
      default: [],
      description: "Channels of the guild the bot answers in (threads follow their channel); empty: all of them",
    }),
    members: Type.Union([Type.Literal("allowed"), Type.Literal("all")], {
      default: "allowed",
      description: '"allowed": only allowed users are answered in the guild; "all": any member',
    }),
  },
  closed,
)

export const DiscordChannel = Type.Object(
  {
    kind: Type.Literal("discord"),
    token: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Bot token from the Developer Portal (prefer tokenEnv or authProfile: config files get shared)",
      }),
    ),
    tokenEnv: Type.Optional(
      Type.String({ minLength: 1, description: "Environment variable holding the token (default DISCORD_BOT_TOKEN)" }),
    ),
    authProfile: Type.Optional(
      Type.String({ minLength: 1, description: "Entry in .drost/auth-profiles.json whose `token` is the bot token" }),
    ),
    allowedUsers: Type.Array(Snowflake, { default: [], description: "Discord user ids that reach the agent" }),
    pairing: Type.Boolean({
      default: false,
      description: "Unknown users who DM the bot get a one-time code the owner approves",
    }),
    guilds: Type.Array(DiscordGuild, {
      default: [],
      description: "Guilds (servers) where the bot answers when mentioned; none by default (DMs only)",
    }),
    apiRoot: Type.Optional(
      Type.String({ minLength: 1, description: "REST API base (default https://discord.com/api)" }),
    ),
    editIntervalMs: Type.Integer({
      minimum: 250,
      default: 1200,
      description: "Minimum gap between edits of a streamed reply, per channel",
    }),
    commands: Type.Boolean({ default: true, description: "Register Drost's commands as slash commands at start" }),
  },
  closed,
)
export type DiscordChannelInput = Static<typeof DiscordChannel>
/** A Discord channel after defaults. */
export type DiscordConfig = Omit<DiscordChannelInput, "guilds"> & {
  guilds: { id: string; channels: string[]; members: "allowed" | "all" }[]
}

/** The kinds built into the gateway; any other `kind` names a plugin's channel. */
export const BUILT_IN_CHANNEL_KINDS = ["telegram", "discord", "slack"] as const

/**
 * An instance of a plugin's channel (docs/plugins.md#channels): `kind` is the channel's name, every
 * other key a setting of the instance, checked with the plugin's schema when the plugin loads.
 */
export const PluginChannelEntry = Type.Object(
  {
    kind: Type.String({
      pattern: `^(?!(${BUILT_IN_CHANNEL_KINDS.join("|")})$)[a-z][a-z0-9-]{0,31}$`,
      description: "The name of a listed plugin's channel; the other keys are its settings (the plugin's schema)",
    }),
  },
  { additionalProperties: Type.Unknown() },
)
/** A `channels` entry of a plugin's channel, after loading: the config's `pluginChannels`. */
export interface PluginChannelConfig {
  kind: string
  /** Its place in `channels` (where a problem with its settings is reported). */
  index: number
  /** The entry without `kind`. */
  settings: Record<string, unknown>
}

export const Channel = Type.Union([TelegramChannel, DiscordChannel, SlackChannel, PluginChannelEntry], {
  description: "A chat front end (see docs/channels.md)",
})
/** A built-in channel's entry (a plugin's: PluginChannelConfig, in the config's `pluginChannels`). */
export type ChannelConfig = TelegramConfig | DiscordConfig | SlackConfig

export const Channels = Type.Optional(
  Type.Array(Channel, { default: [], description: "Chat front ends (see docs/channels.md)" }),
)

/** A Discord bot token: three dot-separated base64url parts (the first is the bot's id). */
export const DISCORD_TOKEN = /^[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}$/

/** What the schema cannot say about a Discord entry. */
export function discordIssues(channel: DiscordChannelInput, index: number): Issue[] {
  const out: Issue[] = []
  if (channel.token && !DISCORD_TOKEN.test(channel.token))
    out.push({
      path: `channels[${index}].token`,
      message: "does not look like a Discord bot token (Developer Portal → Bot → Reset Token)",
    })
  if ([channel.token, channel.tokenEnv, channel.authProfile].filter(Boolean).length > 1)
    out.push({ path: `channels[${index}]`, message: "set only one of token, tokenEnv and authProfile" })
  const seen = new Set<string>()
  ;(channel.guilds ?? []).forEach((guild, at) => {
    if (seen.has(guild.id)) out.push({ path: `channels[${index}].guilds[${at}].id`, message: "is listed twice" })
    seen.add(guild.id)
  })
  return out
}

export function resolveDiscord(channel: DiscordChannelInput): DiscordConfig {
  return {
    ...channel,
    allowedUsers: channel.allowedUsers ?? [],
    pairing: channel.pairing ?? false,
    editIntervalMs: channel.editIntervalMs ?? 1200,
    commands: channel.commands ?? true,
    guilds: (channel.guilds ?? []).map((guild) => ({
      id: guild.id,
      channels: guild.channels ?? [],
      members: guild.members ?? "allowed",
    })),
  }
}
