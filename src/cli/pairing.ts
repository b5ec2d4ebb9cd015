/**
 * `drost pairing approve <code>` / `pairings` / `revoke <user id>`: pairing on every channel (Telegram,
 * Discord, Slack, plugin channels), all of which keep it in the shared channel store (src/store/channels.ts).
 * A code is unique across them, so it needs no channel name; `pairings` shows which channel each is for.
 */
import { pairingCommand, sharedPairings } from "./pairing-cli.ts"

export const pairingCommandAll = pairingCommand({
  command: "pairing",
  label: "channel",
  person: "user",
  sender: "the channel",
  expiry: "15 minutes",
  store: sharedPairings(),
  describe: (pairing) =>
    `${pairing.scope.split(":")[0]} user ${pairing.userId}${pairing.name ? ` (${pairing.name})` : ""}`,
  parseId: (text) => (text ? { id: text } : { error: "expected the user's id on the channel's platform" }),
  idHelp: "The user's id on the channel's platform",
  none: "no pairings (strangers get a code when the channel has pairing on)",
  description:
    "Pairing on every channel (Telegram, Discord, Slack, plugin channels): approve codes, list and revoke approvals",
})
