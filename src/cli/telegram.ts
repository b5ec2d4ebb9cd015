/**
 * `drost telegram approve <code>` / `pairings` / `revoke <user id>`: the owner's side of Telegram
 * pairing, on the shared pairing commands (pairing-cli.ts).
 */
import { pairingCommand } from "./pairing-cli.ts"

export const telegramCommand = pairingCommand({
  command: "telegram",
  label: "Telegram",
  person: "user",
  sender: "the bot",
  expiry: "an hour",
  store: ({ telegram }) => ({
    approve: (code) => telegram.approve(code),
    list: () => telegram.list(),
    revoke: (userId: number) => telegram.revoke(userId),
  }),
  describe: (pairing) => `user ${pairing.userId}${pairing.name ? ` ${pairing.name}` : ""}`,
  parseId: (text) => {
    const id = Number(text)
    return Number.isSafeInteger(id) ? { id } : { error: "expected a numeric Telegram user id" }
  },
  idHelp: "Telegram user id",
  none: "no pairings (unknown users get a code when `pairing: true` is set on the channel)",
})
