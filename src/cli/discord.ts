/**
 * `drost discord approve <code>` / `pairings` / `revoke <user id>`: the owner's side of Discord pairing
 * (docs/discord.md#pairing), on the shared pairing commands (pairing-cli.ts).
 */
import { pairingCommand, sharedPairings } from "./pairing-cli.ts"

export const discordCommand = pairingCommand({
  command: "discord",
  label: "Discord",
  person: "user",
  sender: "the bot",
  expiry: "15 minutes",
  store: sharedPairings("discord"),
  describe: (pairing) => `user ${pairing.userId} (@${pairing.name})`,
  parseId: (text) =>
    /^\d{15,21}$/.test(text) ? { id: text } : { error: "expected a Discord user id (15 to 21 digits)" },
  idHelp: "Discord user id",
  none: "no pairings (strangers get a code when `pairing: true` is set on the discord channel)",
})
