/** The channel contract suite's adapter for Telegram: the strict fake Bot API (test/fake/telegram.ts). */
import { FakeTelegram } from "../../fake/telegram.ts"
import { parseHtml } from "../../fake/telegram-html.ts"
import type { ContractAdapter, Who } from "./suite.ts"

const USERS: Record<Who, number> = { owner: 111, stranger: 777 }
const WRITES = new Set(["sendMessage", "editMessageText"])

export const telegram: ContractAdapter = {
  kind: "telegram",
  pairing: true,
  delivery: true,
  async start() {
    const fake = await FakeTelegram.start()
    return {
      channel: (options = {}) => ({
        kind: "telegram",
        token: options.badToken ? "9999:not-a-valid-token" : fake.token,
        apiRoot: fake.apiRoot,
        allowedUsers: [USERS.owner],
        pollTimeoutSec: 2,
        ...(options.pairing ? { pairing: true } : {}),
        ...(options.editIntervalMs ? { editIntervalMs: options.editIntervalMs } : {}),
      }),
      // Telegram: 4,096 characters of parsed text; the channel's default pacing is one write a second a chat.
      limits: { messageChars: 4096, editIntervalMs: 1000 },
      send: (user, text) => void fake.text(USERS[user], text),
      messages: (user) => fake.chat(USERS[user]).map((message) => ({ text: message.text })),
      writes: (user) =>
        fake.calls
          .filter((call) => WRITES.has(call.method) && Number(call.params.chat_id) === USERS[user])
          .map((call) => {
            const raw = String(call.params.text ?? "")
            const parsed = call.params.parse_mode === "HTML" ? parseHtml(raw) : null
            return { at: call.at, chars: parsed?.ok ? parsed.text.length : raw.length }
          }),
      approve(user) {
        const chatId = USERS[user]
        const message = fake
          .chat(chatId)
          .findLast((candidate) =>
            candidate.markup?.inline_keyboard.flat().some((button) => button.callback_data?.startsWith("apr:")),
          )
        const button = message?.markup?.inline_keyboard.flat().find((candidate) => candidate.text.includes("Approve"))
        if (!message || !button?.callback_data) return false
        fake.press(USERS[user], chatId, message.messageId, button.callback_data)
        return true
      },
      chat: (user) => USERS[user],
      stop: () => fake.stop(),
    }
  },
}
