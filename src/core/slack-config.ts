/**
 * A `channels` entry of kind "slack" (docs/slack.md): Socket Mode with an app-level token (xapp-…) and
 * the Web API with a bot token (xoxb-…), each from the config, an environment variable or an auth
 * profile; who may talk to the agent (DMs from `allowedUsers`, @mentions in listed channels); pacing.
 */
import { type Issue, type Static, Type } from "./schema.ts"

const closed = { additionalProperties: false } as const

export const SlackChannels = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: "Answer @mentions in channels at all (off by default)" }),
    allowed: Type.Array(Type.String({ pattern: "^[CG][A-Z0-9]+$" }), {
      default: [],
      description: "Channel ids (C…) the bot may answer in (channel details → About → Channel ID)",
    }),
    members: Type.Union([Type.Literal("allowed"), Type.Literal("all")], {
      default: "allowed",
      description: '"allowed": only allowed users are answered in a channel; "all": any member of an allowed channel',
    }),
  },
  closed,
)

export const SlackChannel = Type.Object(
  {
    kind: Type.Literal("slack"),
    appToken: Type.Optional(
      Type.String({ minLength: 1, description: "App-level token (xapp-…) for Socket Mode; prefer appTokenEnv" }),
    ),
    appTokenEnv: Type.Optional(
      Type.String({ minLength: 1, description: "Environment variable with the app token (default SLACK_APP_TOKEN)" }),
    ),
    botToken: Type.Optional(
      Type.String({ minLength: 1, description: "Bot token (xoxb-…) for the Web API; prefer botTokenEnv" }),
    ),
    botTokenEnv: Type.Optional(
      Type.String({ minLength: 1, description: "Environment variable with the bot token (default SLACK_BOT_TOKEN)" }),
    ),
    authProfile: Type.Optional(
      Type.String({ minLength: 1, description: "Entry in .drost/auth-profiles.json with `appToken` and `botToken`" }),
    ),
    allowedUsers: Type.Array(Type.String({ pattern: "^[UW][A-Z0-9]+$" }), {
      default: [],
      description: "Slack user ids (U…) that reach the agent (profile → ⋮ → Copy member ID)",
    }),
    pairing: Type.Boolean({
      default: false,
      description: "Strangers who DM the app get a one-time code the owner approves with `drost slack approve <code>`",
    }),
    channels: Type.Optional(Type.Partial(SlackChannels, { ...closed, default: {} })),
    apiUrl: Type.Optional(Type.String({ minLength: 1, description: "Web API root (default https://slack.com/api/)" })),
    editIntervalMs: Type.Integer({
      minimum: 1000,
      default: 1200,
      description: "Least gap between two posts or updates of one conversation (Slack allows about one a second)",
    }),
    reconnectMs: Type.Integer({
      minimum: 100,
      default: 5000,
      description: "Socket Mode: the ping timeout, and the wait before reconnecting",
    }),
  },
  closed,
)
export type SlackChannelInput = Static<typeof SlackChannel>
/** A Slack channel after defaults: `channels` filled in. */
export type SlackConfig = Omit<SlackChannelInput, "channels"> & { channels: Static<typeof SlackChannels> }

/** What the schema cannot say about a Slack entry. */
export function slackIssues(channel: SlackChannelInput, index: number): Issue[] {
  const out: Issue[] = []
  const at = `channels[${index}]`
  if (channel.appToken && !channel.appToken.startsWith("xapp-"))
    out.push({
      path: `${at}.appToken`,
      message: "is not an app-level token (xapp-…, Basic Information → App-Level Tokens)",
    })
  if (channel.botToken && !channel.botToken.startsWith("xoxb-"))
    out.push({
      path: `${at}.botToken`,
      message: "is not a bot token (xoxb-…, OAuth & Permissions → Bot User OAuth Token)",
    })
  if (channel.authProfile && (channel.appToken || channel.botToken || channel.appTokenEnv || channel.botTokenEnv))
    out.push({ path: at, message: "set either authProfile or the tokens (appToken/botToken or their Env), not both" })
  if (channel.channels?.enabled && (channel.channels.allowed ?? []).length === 0)
    out.push({
      path: `${at}.channels.allowed`,
      message: "list the channel ids the bot may answer in (channels are enabled)",
    })
  return out
}

export function resolveSlack(channel: SlackChannelInput): SlackConfig {
  return {
    ...channel,
    allowedUsers: channel.allowedUsers ?? [],
    pairing: channel.pairing ?? false,
    editIntervalMs: channel.editIntervalMs ?? 1200,
    reconnectMs: channel.reconnectMs ?? 5000,
    channels: {
      enabled: channel.channels?.enabled ?? false,
      allowed: channel.channels?.allowed ?? [],
      members: channel.channels?.members ?? "allowed",
    },
  }
}
