/**
 * `drost setup`: providers and their keys (probed), optionally Telegram, the Control API port and admin
 * token, then the workspace files. In a terminal it asks with @clack/prompts for whatever the flags and
 * environment leave open. Without a terminal it never waits: with `--yes` it runs on flags, env and
 * defaults; otherwise it exits at once listing the flags (a clack prompt with no TTY hangs forever).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import * as p from "@clack/prompts"
import type { ProviderKind } from "../core/config.ts"
import { type AuthEntry, setEntry } from "../gateway/auth.ts"
import { findConfig, load, resolveConfig } from "../gateway/load.ts"
import { buildProviders } from "../gateway/provider-hub.ts"
import { tokenFile } from "../gateway/token.ts"
import { Flag } from "../util/flag.ts"
import { type ProbeResult, probeProvider, probeTelegram } from "./probe.ts"
import {
  buildConfig,
  ignoreState,
  type ProviderAnswer,
  type SetupAnswers,
  workspaceFiles,
  writeFiles,
} from "./scaffold.ts"
import {
  detectedProviders,
  guidance,
  PROFILE_ID,
  PROVIDER_FLAGS,
  PROVIDER_KINDS,
  PROVIDER_LABEL,
  parseOwner,
  parsePort,
  pick,
  providersFromFlags,
  type SetupFlags,
  SetupInputError,
} from "./setup-flags.ts"
import { DEFAULT_PORT, nextFreePort, portProblem, runningGateway } from "./setup-port.ts"

const hasTerminal = () => Boolean(process.stdin.isTTY && process.stdout.isTTY)

/** A prompt's answer; Ctrl-C (clack's cancel symbol) ends the command with 130. */
function answered<T>(value: T): Exclude<T, symbol> {
  if (p.isCancel(value) || typeof value === "symbol") {
    p.cancel("Setup cancelled.")
    process.exit(130)
  }
  return value as Exclude<T, symbol>
}

/** One live check, shown as a spinner in a terminal and as one line otherwise. */
async function check(interactive: boolean, label: string, run: () => Promise<ProbeResult>): Promise<ProbeResult> {
  const spin = interactive ? p.spinner() : null
  spin?.start(`Checking ${label}…`)
  const result = await run()
  if (spin) result.ok ? spin.stop(`${label}: ${result.detail}`) : spin.error(`${label}: ${result.detail}`)
  else process.stdout.write(`${result.ok ? "✓" : "✗"} ${label}: ${result.detail}\n`)
  return result
}

type AfterFailure = "retry" | "keep" | "drop"

async function afterFailure(interactive: boolean, label: string): Promise<AfterFailure> {
  if (!interactive)
    throw new SetupInputError(
      `${label} failed its check; fix the key or URL, or pass --skip-probe to write the config anyway`,
    )
  return answered(
    await p.select<AfterFailure>({
      message: `${label} did not pass. What now?`,
      options: [
        { value: "retry", label: "Enter it again" },
        { value: "keep", label: "Keep it anyway", hint: "fix it later; `drost doctor` checks again" },
        { value: "drop", label: "Leave it out" },
      ],
    }),
  )
}

/**
 * The model of an OpenAI-compatible profile, from what the server lists (GET /models): the flag's
 * value if given, else the server's only model, else a choice (the first with --yes). A profile
 * without a model is one the gateway cannot use, so no answer leaves it empty.
 */
async function askModel(
  given: string | undefined,
  listed: string[] | undefined,
  flags: SetupFlags,
  interactive: boolean,
): Promise<string> {
  const say = (line: string) => (interactive ? p.log.info(line) : process.stdout.write(`  ${line}\n`))
  if (given) {
    if (listed?.length && !listed.includes(given))
      say(
        `note: the server does not list "${given}" (it lists ${listed.slice(0, 5).join(", ")}${listed.length > 5 ? ", …" : ""})`,
      )
    return given
  }
  if (listed?.length === 1) {
    say(`model: ${listed[0]} (the only one the server lists)`)
    return listed[0]!
  }
  if (listed && listed.length > 1) {
    if (!interactive) {
      say(`model: ${listed[0]} (the first of ${listed.length} the server lists; --compatible-model picks another)`)
      return listed[0]!
    }
    const OTHER = "\u0000other"
    const chosen = answered(
      await p.select<string>({
        message: "Which model?",
        options: [
          ...listed.map((id) => ({ value: id, label: id })),
          { value: OTHER, label: "Another name…", hint: "one the server does not list" },
        ],
        maxItems: 12,
      }),
    )
    if (chosen !== OTHER) return chosen
  } else if (!interactive)
    throw new SetupInputError(
      flags["skip-probe"]
        ? "openai-compatible needs a model: pass --compatible-model <name> (with --skip-probe the server's models are not listed)"
        : "the OpenAI-compatible server lists no models (GET /models): pass --compatible-model <name>",
    )
  return answered(
    await p.text({
      message: listed ? "Model name (the server lists none)" : "Model name (the server's models could not be listed)",
      validate: (value) => (value?.trim() ? undefined : "the gateway needs a model name for this server"),
    }),
  ).trim()
}

async function askProvider(
  kind: Exclude<ProviderKind, "demo">,
  flags: SetupFlags,
  interactive: boolean,
): Promise<ProviderAnswer | null> {
  const names = PROVIDER_FLAGS[kind]
  const label = PROVIDER_LABEL[kind].split(" (")[0]!
  const compatible = kind === "openai-compatible"
  let baseUrl = pick(flags, names.url as keyof SetupFlags, names.urlEnv)
  const model = compatible ? pick(flags, "compatible-model", "DROST_COMPATIBLE_MODEL") : undefined
  let apiKey = pick(flags, names.key as keyof SetupFlags, names.keyEnv)
  let tried: string | undefined
  let listed: string[] | undefined
  for (;;) {
    if (compatible && !baseUrl) {
      if (!interactive) throw new SetupInputError(`openai-compatible needs --compatible-url or DROST_COMPATIBLE_URL`)
      baseUrl = answered(
        await p.text({
          message: "Base URL of the OpenAI-compatible server",
          placeholder: "http://127.0.0.1:8000/v1",
          initialValue: tried,
          validate: (value) =>
            value && /^https?:\/\/\S+$/.test(value) ? undefined : "an http(s) URL, e.g. http://127.0.0.1:8000/v1",
        }),
      )
    }
    if (!apiKey && interactive) {
      const typed = answered(
        await p.password({
          message: `${label} API key${compatible ? " (empty if the server needs none)" : ""}`,
          validate: (value) => (compatible || value ? undefined : "paste the key, or press Ctrl-C"),
        }),
      )
      apiKey = typed || undefined
    }
    if (!apiKey && !compatible) throw new SetupInputError(`${kind} needs a key: --${names.key} or ${names.keyEnv}`)
    if (flags["skip-probe"]) break
    const result = await check(interactive, label, () => probeProvider(kind, { apiKey, baseUrl }))
    if (result.ok) {
      listed = result.models
      break
    }
    const next = await afterFailure(interactive, label)
    if (next === "keep") break
    if (next === "drop") return null
    apiKey = undefined
    // Ask for the URL again too (it may be the problem), prefilled with the one just tried.
    tried = baseUrl
    if (compatible) baseUrl = undefined
  }
  const chosen = compatible ? await askModel(model, listed, flags, interactive) : undefined
  return { id: PROFILE_ID[kind], kind, apiKey, baseUrl, model: chosen }
}

async function askTelegram(flags: SetupFlags, interactive: boolean): Promise<SetupAnswers["telegram"]> {
  const wanted =
    flags.telegram ??
    (flags["telegram-token"]
      ? true
      : interactive
        ? answered(await p.confirm({ message: "Connect a Telegram bot?", initialValue: false }))
        : false)
  if (!wanted) return null
  const apiRoot = pick(flags, "telegram-api-root", "TELEGRAM_API_ROOT")
  let token = pick(flags, "telegram-token", "TELEGRAM_BOT_TOKEN")
  for (;;) {
    if (!token) {
      if (!interactive)
        throw new SetupInputError(
          "Telegram needs a bot token: --telegram-token or TELEGRAM_BOT_TOKEN (from @BotFather)",
        )
      token = answered(
        await p.password({
          message: "Bot token from @BotFather",
          validate: (value) => (value && /^\d+:\S+$/.test(value) ? undefined : "looks like 123456:ABC…"),
        }),
      )
    }
    if (flags["skip-probe"]) break
    const bot = token
    const result = await check(interactive, "Telegram bot", () => probeTelegram(bot, { apiRoot }))
    if (result.ok) break
    const next = await afterFailure(interactive, "The Telegram token")
    if (next === "keep") break
    if (next === "drop") return null
    token = undefined
  }
  const owner = pick(flags, "telegram-owner", "DROST_TELEGRAM_OWNER")
  if (!owner && !interactive)
    throw new SetupInputError("Telegram needs the owner's user id: --telegram-owner or DROST_TELEGRAM_OWNER")
  const ownerId = parseOwner(
    owner ??
      answered(
        await p.text({
          message: "Your Telegram user id (only you may talk to the bot at first)",
          placeholder: "123456789 — @userinfobot tells you yours",
          validate: (value) => (value && /^\d+$/.test(value.trim()) ? undefined : "digits only"),
        }),
      ).trim(),
  )
  return { token, ownerId, apiRoot }
}

/** A Slack app: both tokens (live-checked with auth.test and apps.connections.open) and the owner's member id. */
async function askSlack(flags: SetupFlags, interactive: boolean): Promise<SetupAnswers["slack"]> {
  // Opt-in (`--slack`, or a token flag): the wizard's usual questions stay as they are.
  const wanted = flags.slack ?? Boolean(flags["slack-app-token"])
  if (!wanted) return null
  const apiUrl = pick(flags, "slack-api-url", "SLACK_API_URL")
  let appToken = pick(flags, "slack-app-token", "SLACK_APP_TOKEN")
  let botToken = pick(flags, "slack-bot-token", "SLACK_BOT_TOKEN")
  for (;;) {
    if (!appToken || !botToken) {
      if (!interactive)
        throw new SetupInputError(
          "Slack needs two tokens: --slack-app-token (xapp-…) and --slack-bot-token (xoxb-…), or SLACK_APP_TOKEN and SLACK_BOT_TOKEN; see docs/slack.md",
        )
      appToken ??= answered(
        await p.password({
          message: "App-level token (Basic Information → App-Level Tokens, scope connections:write)",
          validate: (value) => (value?.startsWith("xapp-") ? undefined : "starts with xapp-"),
        }),
      )
      botToken ??= answered(
        await p.password({
          message: "Bot token (OAuth & Permissions → Bot User OAuth Token)",
          validate: (value) => (value?.startsWith("xoxb-") ? undefined : "starts with xoxb-"),
        }),
      )
    }
    if (flags["skip-probe"]) break
    const tokens = { appToken, botToken, apiUrl }
    const result = await check(interactive, "Slack app", () => probeSlack(tokens))
    if (result.ok) break
    const next = await afterFailure(interactive, "The Slack tokens")
    if (next === "keep") break
    if (next === "drop") return null
    appToken = undefined
    botToken = undefined
  }
  const owner = pick(flags, "slack-owner", "DROST_SLACK_OWNER")
  if (!owner && !interactive)
    throw new SetupInputError("Slack needs the owner's member id: --slack-owner or DROST_SLACK_OWNER (U…)")
  const ownerId = (
    owner ??
    answered(
      await p.text({
        message: "Your Slack member id (only you may talk to the app at first)",
        placeholder: "U0123ABCD — your profile → ⋮ → Copy member ID",
        validate: (value) => (value && /^[UW][A-Z0-9]+$/.test(value.trim()) ? undefined : "looks like U0123ABCD"),
      }),
    )
  ).trim()
  if (!/^[UW][A-Z0-9]+$/.test(ownerId))
    throw new SetupInputError(`the Slack owner must be a member id like U0123ABCD, got "${ownerId}"`)
  return { appToken, botToken, ownerId, ...(apiUrl ? { apiUrl } : {}) }
}

/** `drost setup`'s live check of Slack tokens, as a probe result. */
async function probeSlack(tokens: { appToken: string; botToken: string; apiUrl?: string }): Promise<ProbeResult> {
  const { checkSlack } = await import("../channels/slack/index.ts")
  const result = await checkSlack(tokens, "")
  return result.ok ? { ok: true, detail: result.identity } : { ok: false, detail: result.problem }
}

/** A Discord bot: its token (live-checked with GET /users/@me) and the owner's user id. */
async function askDiscord(flags: SetupFlags, interactive: boolean): Promise<SetupAnswers["discord"]> {
  // Opt-in (`--discord`, or `--discord-token`): the wizard's usual questions stay as they are.
  const wanted = flags.discord ?? Boolean(flags["discord-token"])
  if (!wanted) return null
  const apiRoot = pick(flags, "discord-api-root", "DISCORD_API_ROOT")
  let token = pick(flags, "discord-token", "DISCORD_BOT_TOKEN")
  for (;;) {
    if (!token) {
      if (!interactive)
        throw new SetupInputError(
          "Discord needs a bot token: --discord-token or DISCORD_BOT_TOKEN (Developer Portal → Bot → Reset Token); see docs/discord.md",
        )
      token = answered(
        await p.password({
          message: "Bot token (Developer Portal → your app → Bot → Reset Token)",
          validate: (value) => (value && value.split(".").length === 3 ? undefined : "three parts separated by dots"),
        }),
      )
    }
    if (flags["skip-probe"]) break
    const bot = token
    const result = await check(interactive, "Discord bot", () => probeDiscord(bot, apiRoot))
    if (result.ok) break
    const next = await afterFailure(interactive, "The Discord token")
    if (next === "keep") break
    if (next === "drop") return null
    token = undefined
  }
  const owner = pick(flags, "discord-owner", "DROST_DISCORD_OWNER")
  if (!owner && !interactive)
    throw new SetupInputError("Discord needs the owner's user id: --discord-owner or DROST_DISCORD_OWNER")
  const ownerId = (
    owner ??
    answered(
      await p.text({
        message: "Your Discord user id (only you may talk to the bot at first)",
        placeholder: "Settings → Advanced → Developer Mode, then right-click your name → Copy User ID",
        validate: (value) => (value && /^\d{15,21}$/.test(value.trim()) ? undefined : "15 to 21 digits"),
      }),
    )
  ).trim()
  if (!/^\d{15,21}$/.test(ownerId))
    throw new SetupInputError(`the Discord owner must be a user id (15 to 21 digits), got "${ownerId}"`)
  return { token, ownerId, ...(apiRoot ? { apiRoot } : {}) }
}

/** `drost setup`'s live check of a Discord token (GET /users/@me), as a probe result. */
async function probeDiscord(token: string, apiRoot?: string): Promise<ProbeResult> {
  const { checkDiscord } = await import("../channels/discord/index.ts")
  const result = await checkDiscord({ token, apiRoot }, "")
  return result.ok ? { ok: true, detail: result.identity } : { ok: false, detail: result.problem }
}

/** Where the wizard runs from: the workspace, and the port `drost start --port N` asked for. */
export interface SetupContext {
  root: string
  port?: number
}

/**
 * The Control API port: `--port` (refused when another program holds it), else a question whose
 * default is `drost start --port N`'s N or 7420, moved to the next free port when that one is taken.
 * The workspace's own running gateway holding the port is no conflict.
 */
async function askPort(flags: SetupFlags, interactive: boolean, context: SetupContext): Promise<number> {
  const host = "127.0.0.1"
  const ours = runningGateway(join(context.root, ".drost")) !== null
  const taken = (port: number) => (ours ? null : portProblem(host, port))
  if (flags.port) {
    const port = parsePort(flags.port)
    const problem = taken(port)
    if (problem) {
      const free = nextFreePort(host, port)
      throw new SetupInputError(
        `--port ${port}: ${host}:${port} is ${problem}; ${free ? `${free} is free: --port ${free}, or` : "try"} --port 0 (a free port at each start)`,
      )
    }
    return port
  }
  const wanted = context.port ?? DEFAULT_PORT
  const preferred = taken(wanted) ? nextFreePort(host, wanted) : wanted
  const note =
    preferred === wanted
      ? ""
      : `${wanted} is in use; ${preferred ? `${preferred} is free` : "0 picks a free one at each start"}`
  if (!interactive) {
    if (note) process.stdout.write(`  Control API port ${preferred} (${note})\n`)
    return preferred
  }
  return parsePort(
    answered(
      await p.text({
        message: `Control API port (loopback only${note ? `; ${note}` : ""})`,
        initialValue: String(preferred),
        validate: (value) => {
          if (!value || !/^\d+$/.test(value) || Number(value) > 65535) return "0–65535 (0: a free port at each start)"
          const problem = taken(Number(value))
          if (!problem) return undefined
          const free = nextFreePort(host, Number(value))
          return `${value} is ${problem}; ${free ? `${free} is free` : "0 picks a free port at each start"}`
        },
      }),
    ),
  )
}

export async function collectAnswers(
  flags: SetupFlags,
  interactive: boolean,
  context: SetupContext,
): Promise<SetupAnswers> {
  const kinds =
    providersFromFlags(flags) ??
    (interactive
      ? answered(
          await p.multiselect<ProviderKind>({
            message: "Which model providers? (space selects, enter confirms)",
            options: PROVIDER_KINDS.map((kind) => ({
              value: kind,
              label: PROVIDER_LABEL[kind],
              hint:
                kind !== "demo" && Flag.get(PROVIDER_FLAGS[kind].keyEnv)
                  ? `${PROVIDER_FLAGS[kind].keyEnv} is set`
                  : undefined,
            })),
            initialValues: detectedProviders(),
            required: true,
          }),
        )
      : detectedProviders())
  const providers: ProviderAnswer[] = []
  for (const kind of kinds) {
    const answer = kind === "demo" ? { id: "demo", kind } : await askProvider(kind, flags, interactive)
    if (answer) providers.push(answer)
  }
  if (providers.length === 0) {
    providers.push({ id: "demo", kind: "demo" })
    if (interactive) p.log.warn("No provider left; using the offline demo provider for now.")
  }
  const ids = providers.map((provider) => provider.id)
  const wanted = flags["default-provider"]
  if (wanted && !ids.includes(wanted))
    throw new SetupInputError(`--default-provider: "${wanted}" is not one of ${ids.join(", ")}`)
  const defaultProvider =
    wanted ??
    (interactive && ids.length > 1
      ? answered(
          await p.select<string>({
            message: "Which one do new sessions use?",
            options: providers.map((provider) => ({
              value: provider.id,
              label: `${provider.id} (${PROVIDER_LABEL[provider.kind].split(" (")[0]})`,
            })),
            // A real provider was just added for a reason: it, not the demo, is the likely choice.
            initialValue: (providers.find((provider) => provider.kind !== "demo") ?? providers[0]!).id,
          }),
        )
      : ids[0]!)
  const telegram = await askTelegram(flags, interactive)
  const slack = await askSlack(flags, interactive)
  const discord = await askDiscord(flags, interactive)
  const port = await askPort(flags, interactive, context)
  return { providers, defaultProvider, telegram, slack, discord, controlApi: { port } }
}

/** Writes everything; returns the lines of the summary. */
async function apply(root: string, answers: SetupAnswers, flags: SetupFlags, interactive: boolean): Promise<string[]> {
  const stateDir = join(root, ".drost")
  const config = buildConfig(answers, root)
  // The check `drost start` and `drost doctor` run: never write a profile the gateway cannot use.
  const { problems } = buildProviders(resolveConfig(config.value, root, null), () => null)
  if (problems.size > 0)
    throw new SetupInputError(
      [...problems].map(([id, problem]) => `provider "${id}": ${problem.message}; ${problem.fix}`).join("\n"),
    )
  const outcome = await writeFiles(root, workspaceFiles(config.value), async (path) =>
    flags.force
      ? true
      : interactive
        ? answered(await p.confirm({ message: `${path} already exists. Overwrite it?`, initialValue: false }))
        : false,
  )
  const lines = Object.entries(outcome).map(
    ([path, what]) =>
      `${what === "written" ? "wrote" : what === "kept" ? "kept (exists; --force overwrites)" : "unchanged"}  ${path}`,
  )
  if (ignoreState(root)) lines.push("wrote  .gitignore (.drost/ holds keys and state)")

  const entries: Record<string, AuthEntry> = {}
  for (const provider of answers.providers)
    if (provider.apiKey) entries[provider.id] = { kind: provider.kind, apiKey: provider.apiKey }
  if (answers.telegram?.token) entries.telegram = { kind: "telegram", token: answers.telegram.token }
  if (answers.slack)
    entries.slack = { kind: "slack", appToken: answers.slack.appToken, botToken: answers.slack.botToken }
  if (answers.discord) entries.discord = { kind: "discord", token: answers.discord.token }
  if (Object.keys(entries).length > 0) {
    for (const [id, entry] of Object.entries(entries)) setEntry(stateDir, id, entry)
    lines.push(`stored ${Object.keys(entries).join(", ")} in .drost/auth-profiles.json (mode 0600)`)
  }
  if (config.telegramDropped)
    lines.push(
      "note   this build's config has no Telegram channel section yet; the bot token is stored, add the channel to drost.config.ts later",
    )

  mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const tokenPath = tokenFile(stateDir)
  if (!existsSync(tokenPath) || flags["new-token"]) {
    const admin = `drost_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url")}`
    writeFileSync(tokenPath, `${admin}\n`, { mode: 0o600 })
    lines.push(`Control API admin token (shown once; kept in .drost/control-token, mode 0600):\n  ${admin}`)
  } else lines.push("kept   the existing Control API admin token (.drost/control-token; --new-token replaces it)")
  if (!flags["skip-probe"]) lines.push(...(await pluginChannelLines(root)))
  return lines
}

/**
 * The live checks of plugins' channels in the config now in place (one kept from before: the wizard
 * writes none), as `drost doctor` runs them; a problem is reported, never a reason to stop.
 */
async function pluginChannelLines(root: string): Promise<string[]> {
  let config: Awaited<ReturnType<typeof load>>
  try {
    config = await load({ root })
  } catch {
    return [] // drost doctor says what is wrong with it
  }
  const { pluginChannelChecks } = await import("./plugin-channels.ts")
  return (await pluginChannelChecks(config)).map((check) =>
    check.status === "ok" ? `checked  ${check.name}: ${check.detail}` : `problem  ${check.name}: ${check.detail}`,
  )
}

export async function setup(flags: SetupFlags, options: { thenStart?: boolean; port?: number } = {}): Promise<number> {
  const root = resolve(flags.workspace ?? Flag.workspace() ?? process.cwd())
  const interactive = hasTerminal() && !flags.yes
  if (!hasTerminal() && !flags.yes) {
    process.stderr.write(`${guidance()}\n`)
    return 2
  }
  try {
    if (interactive) p.intro(`drost setup · ${relative(process.cwd(), root) || "."}`)
    const answers = await collectAnswers(flags, interactive, { root, port: options.port })
    const lines = await apply(root, answers, flags, interactive)
    const next = options.thenStart
      ? "Starting the gateway…"
      : `Next: drost start${root === process.cwd() ? "" : ` -w ${relative(process.cwd(), root)}`}   (checks: drost doctor)`
    if (interactive) {
      p.note(lines.join("\n"), "Done")
      p.outro(next)
    } else process.stdout.write(`${lines.join("\n")}\n${next}\n`)
    return 0
  } catch (error) {
    if (!(error instanceof SetupInputError)) throw error
    if (interactive) p.cancel(error.message)
    else process.stderr.write(`drost setup: ${error.message}\n`)
    return 2
  }
}

/** Written when a person declines the first-run wizard, so later starts in the folder do not ask again. */
export const DECLINED = "setup-declined"

/**
 * `drost start` in a folder with no config and a terminal: offer the wizard before starting on
 * defaults (the port question defaults to `--port N`). "No" is remembered in .drost/, so every later
 * start goes straight to the demo; `drost setup` still runs the wizard any time. Returns after the
 * wizard (or the refusal); the caller then loads whatever is there.
 */
export async function offerSetup(root: string, options: { port?: number } = {}): Promise<void> {
  if (!hasTerminal() || findConfig(root)) return
  const marker = join(root, ".drost", DECLINED)
  if (existsSync(marker)) {
    p.log.info("No drost.config.ts here; starting with the offline demo (run drost setup for a real provider).")
    return
  }
  const go = await p.confirm({
    message: "No drost.config.ts in this folder. Set up a provider now? (no: start with the offline demo)",
    initialValue: true,
  })
  if (p.isCancel(go)) return
  if (!go) {
    mkdirSync(join(root, ".drost"), { recursive: true, mode: 0o700 })
    writeFileSync(marker, `declined the setup wizard at ${new Date().toISOString()}; drost setup runs it\n`)
    p.log.info("Not asking again in this folder. Run drost setup any time.")
    return
  }
  await setup({ workspace: root }, { thenStart: true, port: options.port })
}
