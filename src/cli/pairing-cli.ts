/**
 * `drost <channel> approve <code>` / `pairings` / `revoke <id>`: the owner's side of a channel's
 * pairing, one definition for every channel that has it (Telegram, Discord, Slack). The commands work on
 * the workspace's store directly through the store contract (openStore: the SQLite file, or the
 * PostgreSQL database the gateways share), so they work whether or not a gateway runs; a running
 * gateway sees the approval at once and tells the person within seconds. Each channel gives its
 * store, its words and how its user ids look.
 */
import { join } from "node:path"
import { defineCommand } from "citty"
import { load } from "../gateway/load.ts"
import type { ChannelPairing, Store } from "../store/engine/contract.ts"
import { openStore } from "../store/engine/open.ts"
import { Flag } from "../util/flag.ts"
import { workspaceArgs } from "./args.ts"

/** What the commands need of a channel's pairing store. */
export interface PairingRecord {
  code: string
  userId: string | number
  approvedAt: number | null
  expiresAt: number
}

export interface PairingStore<P extends PairingRecord, Id> {
  approve(code: string): Promise<P | null>
  list(): Promise<P[]>
  revoke(id: Id): Promise<boolean | number>
}

export interface PairingCli<P extends PairingRecord, Id> {
  /** The channel's command name and how people speak of it: `discord`, "Discord". */
  command: string
  label: string
  /** "user" or "member": who is paired. */
  person: string
  /** Where the code comes from: "the bot", "the app". */
  sender: string
  /** How long a code lives, for the error when one is unknown: "15 minutes". */
  expiry: string
  store(store: Store): PairingStore<P, Id>
  describe(pairing: P): string
  /** Parses a user id from the command line, or returns the message for a wrong one. */
  parseId(text: string): { id: Id } | { error: string }
  /** The id argument's description: "Discord user id". */
  idHelp: string
  /** What `pairings` says when there are none. */
  none: string
  /** The command's description, when not "<label> channel: approve pairing codes, …". */
  description?: string
}

/**
 * The pairings of the shared channel store (src/store/channels.ts) of one kind (scopes `<kind>:<bot id>`),
 * or of every kind: every channel keeps its pairings there.
 */
export function sharedPairings(kind?: string) {
  return ({ channels }: Store): PairingStore<ChannelPairing, string> => {
    const prefix = kind ? `${kind}:` : ""
    return {
      approve: (code) => channels.approve(code, kind),
      list: async () => (await channels.pairings(prefix)).reverse(),
      async revoke(userId) {
        const scopes = new Set(
          (await channels.pairings(prefix))
            .filter((pairing) => pairing.userId === userId && pairing.approvedAt !== null)
            .map((pairing) => pairing.scope),
        )
        let removed = 0
        for (const scope of scopes) removed += await channels.revoke(scope, userId)
        return removed
      },
    }
  }
}

export function pairingCommand<P extends PairingRecord, Id>(spec: PairingCli<P, Id>) {
  async function withStore<T>(
    args: { workspace?: string; config?: string },
    fn: (store: PairingStore<P, Id>) => Promise<T>,
  ): Promise<T> {
    const config = await load({ root: args.workspace ?? Flag.workspace() ?? process.cwd(), file: args.config })
    const store = await openStore({
      url: config.store?.url,
      sqlitePath: Flag.db() ?? join(config.stateDir, "drost.db"),
    })
    try {
      return await fn(spec.store(store))
    } finally {
      await store.close()
    }
  }

  const approve = defineCommand({
    meta: {
      name: "approve",
      description: `Let the ${spec.label} ${spec.person} who received this pairing code talk to the agent`,
    },
    args: {
      code: { type: "positional", required: true, description: `The code ${spec.sender} sent to the ${spec.person}` },
      ...workspaceArgs,
    },
    async run({ args }) {
      const pairing = await withStore(args, (store) => store.approve(String(args.code)))
      if (!pairing) {
        process.stderr.write(
          `drost: no open pairing with code ${String(args.code).toUpperCase()} (codes work once and expire after ${spec.expiry}; see \`drost ${spec.command} pairings\`)\n`,
        )
        process.exit(1)
      }
      process.stdout.write(
        `approved ${spec.describe(pairing)}; they can talk to the agent now (a running gateway tells them)\n`,
      )
    },
  })

  const pairings = defineCommand({
    meta: { name: "pairings", description: `List open pairing codes and approved ${spec.person}s` },
    args: { json: { type: "boolean", description: "Print JSON" }, ...workspaceArgs },
    async run({ args }) {
      const list = await withStore(args, (store) => store.list())
      if (args.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
        return
      }
      if (list.length === 0) {
        process.stdout.write(`${spec.none}\n`)
        return
      }
      for (const pairing of list) {
        const state = pairing.approvedAt
          ? `approved ${new Date(pairing.approvedAt).toISOString()}`
          : `open, expires ${new Date(pairing.expiresAt).toISOString()}`
        process.stdout.write(`${pairing.approvedAt ? "-       " : pairing.code}  ${spec.describe(pairing)}  ${state}\n`)
      }
    },
  })

  const revoke = defineCommand({
    meta: {
      name: "revoke",
      description: `Withdraw a pairing approval (${spec.person}s in allowedUsers stay allowed)`,
    },
    args: { user: { type: "positional", required: true, description: spec.idHelp }, ...workspaceArgs },
    async run({ args }) {
      const parsed = spec.parseId(String(args.user).trim())
      if ("error" in parsed) {
        process.stderr.write(`drost: ${parsed.error}, got "${args.user}"\n`)
        process.exit(1)
      }
      const removed = await withStore(args, (store) => store.revoke(parsed.id))
      const who = `${spec.person} ${String(parsed.id)}`
      process.stdout.write(removed ? `revoked ${who}\n` : `${who} had no pairing approval\n`)
    },
  })

  return defineCommand({
    meta: {
      name: spec.command,
      description: spec.description ?? `${spec.label} channel: approve pairing codes, list and revoke approvals`,
    },
    subCommands: { approve, pairings, revoke },
  })
}
