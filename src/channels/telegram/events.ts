/** The Telegram channel's events; declared in core/channel-events.ts so every gateway registers them. */
export { TelegramEvent } from "../../core/channel-events.ts"
