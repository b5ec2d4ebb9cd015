/** The channel contract suite's adapter for Slack: the loopback fake of Socket Mode and the Web API (test/fake/slack.ts). */
import { FakeSlack } from "../../fake/slack.ts"
import type { ContractAdapter, Who } from "./suite.ts"

const USERS: Record<Who, string> = { owner: "U0OWNER", stranger: "U0STRANGER" }
const dm = (user: Who) => `D${USERS[user]}`
const WRITES = new Set(["chat.postMessage", "chat.update"])

export const slack: ContractAdapter = {
  kind: "slack",
  pairing: true,
  async start() {
    const fake = await FakeSlack.start()
    // Slack allows about one message a second per channel; the fake answers 429 + Retry-After when crowded.
    fake.gapMs = 1000
    return {
      channel: (options = {}) => ({
        kind: "slack",
        appToken: fake.appToken,
        botToken: options.badToken ? "xoxb-0-not-a-valid-token" : fake.botToken,
        apiUrl: fake.apiUrl,
        allowedUsers: [USERS.owner],
        reconnectMs: 500,
        ...(options.pairing ? { pairing: true } : {}),
        ...(options.editIntervalMs ? { editIntervalMs: Math.max(1000, options.editIntervalMs) } : {}),
      }),
      limits: { messageChars: 4000, editIntervalMs: 1200 },
      send: (user, text) => void fake.message({ user: USERS[user], text }),
      messages: (user) => fake.chat(dm(user)).map((message) => ({ text: message.text })),
      writes: (user) =>
        fake.calls
          .filter((call) => WRITES.has(call.method) && call.params.channel === dm(user) && call.status === "ok")
          .map((call) => ({ at: call.at, chars: String(call.params.text ?? "").length })),
      approve(user) {
        const message = fake
          .chat(dm(user))
          .findLast((candidate) => JSON.stringify(candidate.blocks ?? []).includes('"drost_approve"'))
        if (!message) return false
        fake.press(USERS[user], dm(user), message.ts, "drost_approve")
        return true
      },
      stop: () => fake.stop(),
    }
  },
}
