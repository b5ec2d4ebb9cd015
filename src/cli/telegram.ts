/**
 * `drost telegram approve <code>` / `pairings` / `revoke <user id>`: the owner's side of Telegram
 * pairing, on the shared pairing commands (pairing-cli.ts).
 */
import type { Pairing, Store } from "../store/engine/contract.ts"
import { type PairingStore, pairingCommand } from "./pairing-cli.ts"

/** Telegram's pairings on the store contract (numeric user ids), for the shared commands. */
export const telegramPairings = ({ telegram }: Store): PairingStore<Pairing, number> => ({
  approve: (code) => telegram.approve(code),
  list: () => telegram.list(),
  revoke: (userId) => telegram.revoke(userId),
})

export const telegramCommand = pairingCommand({
  command: "telegram",
  label: "Telegram",
  person: "user",
  sender: "the bot",
  expiry: "an hour",
  store: telegramPairings,
  describe: (pairing) => `user ${pairing.userId}${pairing.name ? ` ${pairing.name}` : ""}`,
  parseId: (text) => {
    const id = Number(text)
    return Number.isSafeInteger(id) ? { id } : { error: "expected a numeric Telegram user id" }
  },
  idHelp: "Telegram user id",
  none: "no pairings (unknown users get a code when `pairing: true` is set on the channel)",
})
