/**
 * Events of the Telegram channel (in the event log, never message text or codes): messages dropped by
 * access control and pairing requests.
 */
import { defineEvent } from "../../core/event.ts"
import { Type } from "../../core/schema.ts"

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
