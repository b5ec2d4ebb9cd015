/**
 * `drost telegram approve <code>` / `pairings` / `revoke <user id>`: the owner's side of pairing. The
 * commands work on the workspace's store directly, so they work whether or not the gateway runs; a
 * running gateway sees the approval at once and tells the user within a few seconds.
 */
import { join } from "node:path"
import { defineCommand } from "citty"
import { load } from "../gateway/load.ts"
import { open } from "../store/db.ts"
import { createTelegramStore, type Pairing } from "../store/telegram.ts"
import { Flag } from "../util/flag.ts"
import { workspaceArgs } from "./args.ts"

async function withStore<T>(
  args: { workspace?: string; config?: string },
  fn: (store: ReturnType<typeof createTelegramStore>) => T,
): Promise<T> {
  const config = await load({ root: args.workspace ?? Flag.workspace() ?? process.cwd(), file: args.config })
  const db = open(Flag.db() ?? join(config.stateDir, "drost.db"))
  try {
    return fn(createTelegramStore(db))
  } finally {
    db.close()
  }
}

const describe = (pairing: Pairing) => `user ${pairing.userId}${pairing.name ? ` ${pairing.name}` : ""}`

const approve = defineCommand({
  meta: { name: "approve", description: "Let the Telegram user who received this pairing code talk to the agent" },
  args: {
    code: { type: "positional", required: true, description: "The code the bot sent to the user" },
    ...workspaceArgs,
  },
  async run({ args }) {
    const pairing = await withStore(args, (store) => store.approve(String(args.code)))
    if (!pairing) {
      process.stderr.write(
        `drost: no open pairing with code ${String(args.code).toUpperCase()} (codes work once and expire after an hour; see \`drost telegram pairings\`)\n`,
      )
      process.exit(1)
    }
    process.stdout.write(
      `approved ${describe(pairing)}; they can talk to the agent now (a running gateway tells them)\n`,
    )
  },
})

const pairings = defineCommand({
  meta: { name: "pairings", description: "List open pairing codes and approved users" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...workspaceArgs },
  async run({ args }) {
    const list = await withStore(args, (store) => store.list())
    if (args.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
      return
    }
    if (list.length === 0) {
      process.stdout.write("no pairings (unknown users get a code when `pairing: true` is set on the channel)\n")
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
  meta: { name: "revoke", description: "Withdraw a pairing approval (users in allowedUsers stay allowed)" },
  args: { user: { type: "positional", required: true, description: "Telegram user id" }, ...workspaceArgs },
  async run({ args }) {
    const id = Number(args.user)
    if (!Number.isSafeInteger(id)) {
      process.stderr.write(`drost: expected a numeric Telegram user id, got "${args.user}"\n`)
      process.exit(1)
    }
    const removed = await withStore(args, (store) => store.revoke(id))
    process.stdout.write(removed ? `revoked user ${id}\n` : `user ${id} had no pairing approval\n`)
  },
})

export const telegramCommand = defineCommand({
  meta: { name: "telegram", description: "Telegram channel: approve pairing codes, list and revoke approvals" },
  subCommands: { approve, pairings, revoke },
})
