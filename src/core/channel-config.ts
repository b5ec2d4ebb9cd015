/**
 * The `channels` section of the configuration: one entry per chat front end. Only Telegram exists so
 * far; the array is a discriminated union on `kind` so a second channel is one more member.
 */
import { type Static, Type } from "./schema.ts"

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

export const Channel = Type.Union([TelegramChannel], { description: "A chat front end (see docs/telegram.md)" })
export type ChannelConfig = TelegramConfig

export const Channels = Type.Optional(
  Type.Array(Channel, { default: [], description: "Chat front ends (see docs/telegram.md)" }),
)
