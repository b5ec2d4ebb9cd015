/**
 * `drost auth`: manage `.drost/auth-profiles.json` (mode 0600). Keys are read from the argument, from
 * stdin when it is not a terminal (`echo "$KEY" | drost auth set-api-key openai openai`), or from a
 * masked prompt; they are never printed, not even in part.
 */
import * as p from "@clack/prompts"
import { defineCommand } from "citty"
import { relative } from "node:path"
import type { Config } from "../core/config.ts"
import { authPath, createCredentials, readAuth, removeEntry, setEntry } from "../gateway/auth.ts"
import { load } from "../gateway/load.ts"
import { Flag } from "../util/flag.ts"
import { workspaceArgs } from "./args.ts"

const KINDS = ["openai", "anthropic", "openai-compatible", "xai", "brave", "tavily"] as const
/** Kinds whose key is for web.search's backend (tools.web.search), not for a provider profile. */
const SEARCH_KINDS = new Set(["brave", "tavily"])

async function configOf(args: { workspace?: string; config?: string }): Promise<Config> {
  return load({ root: args.workspace ?? Flag.workspace() ?? process.cwd(), file: args.config })
}

const shown = (file: string) => relative(process.cwd(), file) || file

/**
 * What uses auth profile `id`: provider profiles whose credential resolves to it (explicit `authProfile`,
 * the same id, `<kind>:<id>` or `<kind>:default`: gateway/auth.ts) and Telegram channels naming it.
 */
function usersOf(config: Config, id: string): string[] {
  const credentials = createCredentials(config.stateDir)
  const providers = config.providers.profiles
    .filter((profile) => credentials.resolve(profile)?.source === `auth:${id}`)
    .map((profile) => profile.id)
  const channels = (config.channels ?? []).flatMap((channel, index) =>
    channel.kind === "telegram" && channel.authProfile === id ? [`telegram channel ${index + 1}`] : [],
  )
  return [...providers, ...channels]
}

/** After storing a key: say which profile will use it, or how to make one use it. */
function usage(config: Config, id: string, kind: string): string {
  if (SEARCH_KINDS.has(kind))
    return `web.search uses it when tools.web.search has backend "${kind}"${id === `${kind}:default` ? "" : ` and authProfile "${id}"`}`
  const users = usersOf(config, id)
  if (users.length) return `used by ${users.join(", ")}`
  const suggested = id.startsWith(`${kind}:`) && id !== `${kind}:default` ? id.slice(kind.length + 1) : kind
  return `no provider profile uses it yet: add { id: "${suggested}", kind: "${kind}"${kind === "openai-compatible" ? ', baseUrl: "…", model: "…"' : ""} } to providers.profiles in ${config.file ? shown(config.file) : "drost.config.ts"} (a profile of kind ${kind} picks up "${kind}:default" and "${kind}:<its id>" by itself), or run drost setup`
}

/** The secret from the argument, piped stdin, or a masked prompt; never echoed. */
async function secret(given: string | undefined, label: string): Promise<string> {
  if (given) return given.trim()
  if (!process.stdin.isTTY) {
    const piped = (await new Response(Bun.stdin.stream()).text()).trim()
    if (!piped)
      throw new Error(`no ${label} given: pass it as an argument, pipe it on stdin, or run in a terminal to be asked`)
    return piped
  }
  const typed = await p.password({
    message: `${label} (input hidden)`,
    validate: (value) => (value?.trim() ? undefined : `paste the ${label}, or press Ctrl-C`),
  })
  if (p.isCancel(typed)) throw new Error("cancelled")
  return typed.trim()
}

async function run(task: () => Promise<void>): Promise<never> {
  try {
    await task()
    process.exit(0)
  } catch (error) {
    process.stderr.write(`drost: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}

const setApiKey = defineCommand({
  meta: {
    name: "set-api-key",
    description: "Store an API key in .drost/auth-profiles.json (key from the argument, stdin or a hidden prompt)",
  },
  args: {
    kind: { type: "positional", required: true, description: `Provider kind: ${KINDS.join(", ")}` },
    profileId: {
      type: "positional",
      required: true,
      description: "Auth profile id (a provider profile with the same id, or with authProfile set to it, uses it)",
    },
    key: {
      type: "positional",
      required: false,
      description: "The key (better: omit it and pipe it or type it, so it stays out of shell history)",
    },
    ...workspaceArgs,
  },
  run: ({ args }) =>
    run(async () => {
      if (!(KINDS as readonly string[]).includes(args.kind))
        throw new Error(`unknown kind "${args.kind}"; expected one of ${KINDS.join(", ")}`)
      if (!/^[A-Za-z0-9_.:-]+$/.test(args.profileId))
        throw new Error(`invalid profile id "${args.profileId}" (letters, digits, _ . : -)`)
      const config = await configOf(args)
      const key = await secret(args.key, "API key")
      setEntry(config.stateDir, args.profileId, { kind: args.kind, apiKey: key })
      process.stdout.write(
        `saved the API key for auth profile "${args.profileId}" (${args.kind}) in ${shown(authPath(config.stateDir))} (mode 600)\n${usage(config, args.profileId, args.kind)}\n`,
      )
    }),
})

const setSetupToken = defineCommand({
  meta: {
    name: "set-setup-token",
    description:
      'Store an Anthropic setup token (from `claude setup-token`) for kind anthropic; profile id defaults to "anthropic"',
  },
  args: {
    profileId: { type: "positional", required: false, description: "Auth profile id (default: anthropic)" },
    token: { type: "positional", required: false, description: "The token (better: omit it and pipe it or type it)" },
    ...workspaceArgs,
  },
  run: ({ args }) =>
    run(async () => {
      // `drost auth set-setup-token sk-ant-oat…` means the token for the default profile.
      const [id, given] =
        args.profileId?.startsWith("sk-ant-") && !args.token
          ? ["anthropic", args.profileId]
          : [args.profileId ?? "anthropic", args.token]
      if (!/^[A-Za-z0-9_.:-]+$/.test(id)) throw new Error(`invalid profile id "${id}" (letters, digits, _ . : -)`)
      const config = await configOf(args)
      const token = await secret(given, "setup token")
      setEntry(config.stateDir, id, { kind: "anthropic", token })
      process.stdout.write(
        `saved the setup token for auth profile "${id}" (anthropic) in ${shown(authPath(config.stateDir))} (mode 600)\n${usage(config, id, "anthropic")}\n`,
      )
    }),
})

const list = defineCommand({
  meta: {
    name: "list",
    description: "List auth profiles (ids, kinds and which provider profiles use them; never the secrets)",
  },
  args: { ...workspaceArgs, json: { type: "boolean", description: "Print JSON" } },
  run: ({ args }) =>
    run(async () => {
      const config = await configOf(args)
      const auth = readAuth(config.stateDir)
      const rows = Object.entries(auth.profiles).map(([id, entry]) => ({
        id,
        kind: entry.kind,
        type: entry.apiKey ? "api-key" : entry.kind === "anthropic" ? "setup-token" : "token",
        updatedAt: entry.updatedAt ? new Date(entry.updatedAt).toISOString() : null,
        usedBy: usersOf(config, id),
      }))
      if (args.json) {
        process.stdout.write(`${JSON.stringify({ file: authPath(config.stateDir), profiles: rows }, null, 2)}\n`)
        return
      }
      if (rows.length === 0) {
        process.stdout.write(
          `no auth profiles in ${shown(authPath(config.stateDir))}; add one with \`drost auth set-api-key <kind> <profileId>\`\n`,
        )
        return
      }
      for (const row of rows)
        process.stdout.write(
          `${row.id.padEnd(20)} ${row.kind.padEnd(18)} ${row.type.padEnd(12)} [redacted]  ${row.usedBy.length ? `used by ${row.usedBy.join(", ")}` : "not used by any profile or channel"}\n`,
        )
    }),
})

const remove = defineCommand({
  meta: { name: "remove", description: "Delete an auth profile" },
  args: { profileId: { type: "positional", required: true, description: "Auth profile id" }, ...workspaceArgs },
  run: ({ args }) =>
    run(async () => {
      const config = await configOf(args)
      if (!removeEntry(config.stateDir, args.profileId))
        throw new Error(`no auth profile "${args.profileId}" (see \`drost auth list\`)`)
      process.stdout.write(`removed auth profile "${args.profileId}"\n`)
    }),
})

export const authCommand = defineCommand({
  meta: {
    name: "auth",
    description: "Manage provider credentials in .drost/auth-profiles.json (mode 600, never printed)",
  },
  subCommands: { "set-api-key": setApiKey, "set-setup-token": setSetupToken, list, remove },
})
