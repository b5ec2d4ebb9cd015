/**
 * Events of the chat channels (in the event log, never message text or codes): Telegram messages
 * dropped by access control, pairing requests and voice messages (transcribed, refused or failed, a
 * spoken reply sent). Declared here, below every layer, rather than with the channel: the channel
 * module loads only when a channel is configured, and the event registry (the SSE route, the OpenAPI
 * document, the JSONL sink) must list these types on every gateway.
 */
import { defineEvent } from "./event.ts"
import { Type } from "./schema.ts"

export const TelegramEvent = {
  Ignored: defineEvent(
    "telegram.message.ignored",
    Type.Object({ bot: Type.String(), userId: Type.Number(), chatId: Type.Number(), reason: Type.String() }),
  ),
  PairingRequested: defineEvent(
    "telegram.pairing.requested",
    Type.Object({ bot: Type.String(), userId: Type.Number(), chatId: Type.Number(), created: Type.Boolean() }),
  ),
  /** A voice or audio message became the user's text (its length only, never the words). */
  VoiceTranscribed: defineEvent(
    "telegram.voice.transcribed",
    Type.Object({
      bot: Type.String(),
      chatId: Type.Number(),
      profile: Type.String(),
      durationSec: Type.Number(),
      bytes: Type.Number(),
      chars: Type.Number(),
      ms: Type.Number(),
    }),
  ),
  /** A voice message that was not transcribed, or a spoken reply that could not be made, and why. */
  VoiceFailed: defineEvent(
    "telegram.voice.failed",
    Type.Object({
      bot: Type.String(),
      chatId: Type.Number(),
      stage: Type.Union([Type.Literal("refused"), Type.Literal("transcribe"), Type.Literal("speak")]),
      reason: Type.String(),
    }),
  ),
  /** A spoken reply was sent as a voice message. */
  VoiceSent: defineEvent(
    "telegram.voice.sent",
    Type.Object({ bot: Type.String(), chatId: Type.Number(), profile: Type.String(), bytes: Type.Number() }),
  ),
}

/** The Slack channel's events (ids are Slack's: users U…, channels C…/D…; never message text). */
export const SlackEvent = {
  Ignored: defineEvent(
    "slack.message.ignored",
    Type.Object({ app: Type.String(), userId: Type.String(), channel: Type.String(), reason: Type.String() }),
  ),
}

/** The Discord channel's events (ids are Discord snowflakes; never message text or codes). */
export const DiscordEvent = {
  Ignored: defineEvent(
    "discord.message.ignored",
    Type.Object({ bot: Type.String(), userId: Type.String(), channel: Type.String(), reason: Type.String() }),
  ),
  PairingRequested: defineEvent(
    "discord.pairing.requested",
    Type.Object({ bot: Type.String(), userId: Type.String(), channel: Type.String(), created: Type.Boolean() }),
  ),
}
