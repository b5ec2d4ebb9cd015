/**
 * Events of the chat channels (in the event log, never message text or codes): Telegram messages
 * dropped by access control and pairing requests. Declared here, below every layer, rather than with
 * the channel: the channel module loads only when a channel is configured, and the event registry (the
 * SSE route, the OpenAPI document, the JSONL sink) must list these types on every gateway.
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
}
