/**
 * `drost slack approve <code>` / `pairings` / `revoke <member id>`: the owner's side of Slack pairing
 * (docs/slack.md), on the shared pairing commands (pairing-cli.ts).
 */
import { pairingCommand, sharedPairings } from "./pairing-cli.ts"

export const slackCommand = pairingCommand({
  command: "slack",
  label: "Slack",
  person: "member",
  sender: "the app",
  expiry: "15 minutes",
  store: sharedPairings("slack"),
  describe: (pairing) => `member ${pairing.userId}`,
  parseId: (text) =>
    /^[UW][A-Z0-9]+$/.test(text) ? { id: text } : { error: "expected a Slack member id like U0123ABCD" },
  idHelp: "Slack member id (U…)",
  none: "no pairings (strangers get a code when `pairing: true` is set on the slack channel)",
})
