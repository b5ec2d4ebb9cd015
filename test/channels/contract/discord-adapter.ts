/** The channel contract suite's adapter for Discord: the loopback fake Gateway and REST API (test/fake/discord.ts). */
import { createFakeDiscord } from "../../fake/discord.ts"
import type { ContractAdapter, Who } from "./suite.ts"

const USERS: Record<Who, string> = { owner: "1200000000000000111", stranger: "1200000000000000777" }
/** Each user's DM channel with the bot (Discord gives a DM its own channel id). */
const DMS: Record<Who, string> = { owner: "1400000000000000111", stranger: "1400000000000000777" }

export const discord: ContractAdapter = {
  kind: "discord",
  pairing: true,
  async start() {
    const fake = createFakeDiscord()
    return {
      channel: (options = {}) => ({
        kind: "discord",
        token: options.badToken ? "MTIzNDU2Nzg5MDEyMzQ1Njc4.badx.not-the-bot-token" : fake.token,
        apiRoot: fake.api,
        allowedUsers: [USERS.owner],
        ...(options.pairing ? { pairing: true } : {}),
        ...(options.editIntervalMs ? { editIntervalMs: options.editIntervalMs } : {}),
      }),
      // Discord: 2,000 characters a message; the channel's default pacing is one write per 1.2 s a conversation.
      limits: { messageChars: 2000, editIntervalMs: 1200 },
      // Discord dispatches only to a connected bot (a resumed session gets what it missed meanwhile):
      // the first message waits for the channel's first IDENTIFY.
      async send(user, text) {
        await fake.until(() => fake.identifies.length > 0, 15_000, "the bot's IDENTIFY")
        fake.message(DMS[user], USERS[user], text)
      },
      messages: (user) => fake.messages(DMS[user]).map((message) => ({ text: message.content })),
      writes: (user) =>
        fake.hits
          .filter((hit) => hit.channelId === DMS[user] && hit.status === 200 && hit.chars !== undefined)
          .map((hit) => ({ at: hit.at, chars: hit.chars! })),
      approve(user) {
        const message = fake
          .messages(DMS[user])
          .findLast((candidate) => JSON.stringify(candidate.components).includes('"apr:'))
        const button = JSON.stringify(message?.components ?? []).match(/"custom_id":"(apr:[^"]+:a)"/)?.[1]
        if (!button) return false
        fake.interaction(DMS[user], USERS[user], { customId: button })
        return true
      },
      stop: () => fake.stop(),
    }
  },
}
