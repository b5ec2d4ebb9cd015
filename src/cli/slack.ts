/**
 * `drost slack approve <code>` / `pairings` / `revoke <member id>`: the owner's side of Slack pairing
 * (docs/slack.md#pairing). They work on the workspace's store directly, so they work whether or not
 * the gateway runs; a running gateway sees the approval at once and tells the member within seconds.
 */
import { join } from "node:path"
import { defineCommand } from "citty"
import { createSlackPairings, type SlackPairing } from "../channels/slack/pairing.ts"
import { load } from "../gateway/load.ts"
import { open } from "../store/db.ts"
import { Flag } from "../util/flag.ts"
import { workspaceArgs } from "./args.ts"

async function withPairings<T>(
  args: { workspace?: string; config?: string },
  fn: (pairings: ReturnType<typeof createSlackPairings>) => T,
): Promise<T> {
  const config = await load({ root: args.workspace ?? Flag.workspace() ?? process.cwd(), file: args.config })
  const db = open(Flag.db() ?? join(config.stateDir, "drost.db"))
  try {
    return fn(createSlackPairings(db))
  } finally {
    db.close()
  }
}

const describe = (pairing: SlackPairing) => `member ${pairing.userId}`

const approve = defineCommand({
  meta: { name: "approve", description: "Let the Slack member who received this pairing code talk to the agent" },
  args: {
    code: { type: "positional", required: true, description: "The code the app sent to the member" },
    ...workspaceArgs,
  },
  async run({ args }) {
    const pairing = await withPairings(args, (pairings) => pairings.approve(String(args.code)))
    if (!pairing) {
      process.stderr.write(
        `drost: no open pairing with code ${String(args.code).toUpperCase()} (codes work once and expire after 15 minutes; see \`drost slack pairings\`)\n`,
      )
      process.exit(1)
    }
    process.stdout.write(
      `approved ${describe(pairing)}; they can talk to the agent now (a running gateway tells them)\n`,
    )
  },
})

const pairings = defineCommand({
  meta: { name: "pairings", description: "List open pairing codes and approved members" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...workspaceArgs },
  async run({ args }) {
    const list = await withPairings(args, (store) => store.list())
    if (args.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
      return
    }
    if (list.length === 0) {
      process.stdout.write("no pairings (strangers get a code when `pairing: true` is set on the slack channel)\n")
      return
    }
    for (const pairing of list) {
      const state = pairing.approvedAt
        ? `approved ${new Date(pairing.approvedAt).toISOString()}`
        : `open, expires ${new Date(pairing.expiresAt).toISOString()}`
      process.stdout.write(`${pairing.approvedAt ? "-       " : pairing.code}  ${describe(pairing)}  ${state}\n`)
    }
  },
})

const revoke = defineCommand({
  meta: { name: "revoke", description: "Withdraw a pairing approval (members in allowedUsers stay allowed)" },
  args: { user: { type: "positional", required: true, description: "Slack member id (U…)" }, ...workspaceArgs },
  async run({ args }) {
    const id = String(args.user).trim()
    if (!/^[UW][A-Z0-9]+$/.test(id)) {
      process.stderr.write(`drost: expected a Slack member id like U0123ABCD, got "${args.user}"\n`)
      process.exit(1)
    }
    const removed = await withPairings(args, (store) => store.revoke(id))
    process.stdout.write(removed ? `revoked member ${id}\n` : `member ${id} had no pairing approval\n`)
  },
})

export const slackCommand = defineCommand({
  meta: { name: "slack", description: "Slack channel: approve pairing codes, list and revoke approvals" },
  subCommands: { approve, pairings, revoke },
})
