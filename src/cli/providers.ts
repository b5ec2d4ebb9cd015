/**
 * `drost providers list | probe [timeoutMs]`: the configured profiles with where their credential
 * comes from (never the credential), and a live probe of each with a code per profile:
 * ok, missing_auth, unreachable, incompatible, provider_error. `probe` exits 1 unless all are ok.
 */
import { defineCommand } from "citty"
import type { Config } from "../core/config.ts"
import { createCredentials, readAuth } from "../gateway/auth.ts"
import { load } from "../gateway/load.ts"
import { probeAll } from "../providers/probe.ts"
import { DEFAULT_MODELS, OPENAI_BASE_URL, XAI_BASE_URL } from "../providers/registry.ts"
import { Flag } from "../util/flag.ts"
import { workspaceArgs as sharedWorkspaceArgs } from "./args.ts"

const workspaceArgs = {
  ...sharedWorkspaceArgs,
  json: { type: "boolean", description: "Print JSON" },
} as const

async function run(task: () => Promise<number>): Promise<never> {
  try {
    process.exit(await task())
  } catch (error) {
    const lines = (error as { lines?: string[] }).lines
    process.stderr.write(
      `drost: ${lines ? `invalid configuration\n${lines.map((line) => `  ${line}`).join("\n")}` : error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  }
}

const PROVIDER_KINDS = new Set(["openai", "anthropic", "openai-compatible", "xai"])

/**
 * Provider keys in .drost/auth-profiles.json that no profile resolves to: stored with `drost auth`, but
 * nothing probes or uses them until a profile of their kind exists. One line each, saying what to add.
 */
function unusedKeys(config: Config): string[] {
  const credentials = createCredentials(config.stateDir)
  const used = new Set(config.providers.profiles.map((profile) => credentials.resolve(profile)?.source))
  return Object.entries(readAuth(config.stateDir).profiles)
    .filter(([id, entry]) => PROVIDER_KINDS.has(entry.kind) && !used.has(`auth:${id}`))
    .map(
      ([id, entry]) =>
        `note: auth profile "${id}" (${entry.kind}) is used by no provider profile; add { id: "${id.startsWith(`${entry.kind}:`) && !id.endsWith(":default") ? id.slice(entry.kind.length + 1) : entry.kind}", kind: "${entry.kind}"${entry.kind === "openai-compatible" ? ', baseUrl: "…", model: "…"' : ""} } to providers.profiles (drost setup writes one)`,
    )
}

const list = defineCommand({
  meta: {
    name: "list",
    description: "List provider profiles: kind, model, endpoint, credential source, default and fallbacks",
  },
  args: workspaceArgs,
  run: ({ args }) =>
    run(async () => {
      const config = await load({ root: args.workspace ?? Flag.workspace() ?? process.cwd(), file: args.config })
      const credentials = createCredentials(config.stateDir)
      const { failover, defaultSessionProvider } = config.providers
      const rows = config.providers.profiles.map((profile) => ({
        id: profile.id,
        kind: profile.kind,
        api:
          profile.kind === "openai"
            ? (profile.api ?? "responses")
            : profile.kind === "anthropic"
              ? "messages"
              : profile.kind === "demo"
                ? "offline"
                : "chat",
        model: profile.model ?? DEFAULT_MODELS[profile.kind] ?? (profile.kind === "demo" ? "demo-1" : null),
        baseUrl:
          profile.baseUrl ??
          (profile.kind === "openai"
            ? OPENAI_BASE_URL
            : profile.kind === "xai"
              ? XAI_BASE_URL
              : profile.kind === "anthropic"
                ? "https://api.anthropic.com"
                : null),
        auth: credentials.source(profile),
        default: profile.id === defaultSessionProvider,
        fallback: failover.enabled && failover.fallbacks.includes(profile.id),
      }))
      if (args.json) process.stdout.write(`${JSON.stringify({ providers: rows, failover }, null, 2)}\n`)
      else {
        for (const row of rows)
          process.stdout.write(
            `${row.default ? "*" : " "} ${row.id.padEnd(16)} ${row.kind.padEnd(18)} ${row.api.padEnd(9)} ${(row.model ?? "(no model)").padEnd(22)} ${row.baseUrl ?? ""}  auth: ${row.auth}${row.fallback ? "  [fallback]" : ""}\n`,
          )
        process.stdout.write(
          failover.enabled && failover.fallbacks.length
            ? `failover: session provider → ${failover.fallbacks.join(" → ")}\n`
            : "failover: off (no fallbacks)\n",
        )
      }
      return 0
    }),
})

const probe = defineCommand({
  meta: {
    name: "probe",
    description:
      "Probe every profile (list models with its credential); codes: ok, missing_auth, unreachable, incompatible, provider_error",
  },
  args: {
    timeoutMs: { type: "positional", required: false, description: "Per-profile timeout in ms (default 5000)" },
    ...workspaceArgs,
  },
  run: ({ args }) =>
    run(async () => {
      const timeoutMs = args.timeoutMs === undefined ? 5000 : Number(args.timeoutMs)
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
        throw new Error(`timeoutMs must be a positive integer, got "${args.timeoutMs}"`)
      const config = await load({ root: args.workspace ?? Flag.workspace() ?? process.cwd(), file: args.config })
      const results = await probeAll(config.providers.profiles, createCredentials(config.stateDir).resolve, timeoutMs)
      if (args.json) process.stdout.write(`${JSON.stringify({ providers: results }, null, 2)}\n`)
      else {
        for (const result of results)
          process.stdout.write(
            `${result.id.padEnd(16)} ${result.code.padEnd(15)} ${String(result.latencyMs).padStart(5)} ms  ${result.message}\n`,
          )
        for (const line of unusedKeys(config)) process.stdout.write(`${line}\n`)
      }
      return results.every((result) => result.code === "ok") ? 0 : 1
    }),
})

export const providersCommand = defineCommand({
  meta: { name: "providers", description: "List and probe provider profiles" },
  subCommands: { list, probe },
})
