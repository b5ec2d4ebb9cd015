/**
 * `drost doctor`: checks a workspace the way the gateway will use it and says how to fix each problem.
 * `fail` is blocking (the gateway would not start, or would start without its default provider or a
 * safe auth file) and makes the exit code 1; `warn` is worth knowing but not blocking.
 */
import { Database } from "bun:sqlite"
import { SQL } from "bun"
import { existsSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { isLoopbackName } from "../api/host.ts"
import type { Config } from "../core/config.ts"
import { ConfigError } from "../core/error.ts"
import { type AuthFile, authPath, createCredentials, fixMode, readAuth } from "../gateway/auth.ts"
import { load } from "../gateway/load.ts"
import { acquire } from "../gateway/lock.ts"
import { buildProviders } from "../gateway/provider-hub.ts"
import { tokenFile } from "../gateway/token.ts"
import { DEFAULT_KEY_ENV, needsKey } from "../providers/credential.ts"
import { createSandbox } from "../sandbox/sandbox.ts"
import { chooseStore } from "../store/engine/open.ts"
import { repair } from "../store/repair.ts"
import { Flag } from "../util/flag.ts"
import { pluginChannelChecks } from "./plugin-channels.ts"
import { DEFAULT_BASE_URL, probeProvider, probeTelegram } from "./probe.ts"
import { portProblem, runningGateway } from "./setup-port.ts"

export type Status = "ok" | "warn" | "fail"

export interface Check {
  name: string
  status: Status
  detail: string
  fix?: string
}

export interface DoctorOptions {
  workspace: string
  config?: string
  /** Skip the network checks (provider probes, Telegram getMe). */
  offline?: boolean
  /** Move a damaged database aside and copy what can be read into a new one (see store/repair.ts). */
  repair?: boolean
}

/**
 * Secret files readable by others. The runtime tightens both to 0600 whenever it reads them (and so
 * does this check), so it is a warning — but the secrets may already have been read: rotate them.
 */
function secretFiles(config: Config): Check[] {
  const out: Check[] = []
  for (const file of [authPath(config.stateDir), tokenFile(config.stateDir)]) {
    if (!existsSync(file)) continue
    const mode = statSync(file).mode & 0o777
    const name = `permissions ${relative(config.workspaceDir, file)}`
    if ((mode & 0o077) === 0) {
      out.push({ name, status: "ok", detail: `mode ${mode.toString(8)}` })
      continue
    }
    fixMode(file)
    out.push({
      name,
      status: "warn",
      detail: `was mode ${mode.toString(8)} (readable by other users); tightened to 600`,
      fix: "if others could log in here, rotate the secrets in it",
    })
  }
  if (out.length === 0)
    out.push({
      name: "auth profiles",
      status: "ok",
      detail: "no .drost/auth-profiles.json (keys come from the environment)",
    })
  return out
}

async function providers(config: Config, options: DoctorOptions): Promise<Check[]> {
  const out: Check[] = []
  const credentials = createCredentials(config.stateDir)
  // Exactly what `drost start` builds: a profile it could not use fails here too.
  const { problems } = buildProviders(config, credentials.resolve)
  for (const profile of config.providers.profiles) {
    const isDefault = profile.id === config.providers.defaultSessionProvider
    const name = `provider ${profile.id}${isDefault ? " (default)" : ""}`
    const severity: Status = isDefault ? "fail" : "warn"
    const problem = problems.get(profile.id)
    if (problem) {
      out.push({ name, status: severity, detail: `the gateway cannot use it: ${problem.message}`, fix: problem.fix })
      continue
    }
    if (profile.kind === "plugin") {
      // Built by the plugin when the gateway loads it; `drost status` and /status say how that went.
      out.push({ name, status: "ok", detail: `served by plugin ${profile.plugin} (loaded when the gateway starts)` })
      continue
    }
    if (profile.kind === "demo") {
      out.push({
        name,
        status: "ok",
        detail: "offline demo provider",
        ...(isDefault ? { fix: "for a real model: drost setup" } : {}),
      })
      continue
    }
    const found = credentials.resolve(profile)
    const source = credentials.source(profile)
    if (!found && (profile.authProfile || needsKey(profile.kind))) {
      const env = DEFAULT_KEY_ENV[profile.kind]
      out.push({
        name,
        status: severity,
        detail: `no key: ${source}`,
        fix: `drost setup --provider ${profile.kind}, or drost auth set-api-key ${profile.kind} ${profile.authProfile ?? profile.id}${env ? `, or export ${env}` : ""}`,
      })
      continue
    }
    if (options.offline) {
      out.push({ name, status: "ok", detail: `key: ${source}; not probed (--offline)` })
      continue
    }
    const result = await probeProvider(profile.kind, {
      apiKey: found?.value,
      baseUrl: profile.baseUrl ?? DEFAULT_BASE_URL[profile.kind],
      timeoutMs: 5000,
    })
    out.push(
      result.ok
        ? { name, status: "ok", detail: `${result.detail} (key: ${source})` }
        : {
            name,
            status: severity,
            detail: result.detail,
            fix: result.detail.includes("rejected")
              ? `replace the key: drost setup --provider ${profile.kind}`
              : "check baseUrl and the network",
          },
    )
  }
  return out
}

async function telegram(config: Config, auth: AuthFile, options: DoctorOptions): Promise<Check[]> {
  const out: Check[] = []
  for (const [index, channel] of (config.channels ?? []).entries()) {
    if (channel.kind !== "telegram") continue
    const name = `telegram channel ${index + 1}`
    const token =
      channel.token ??
      (channel.authProfile ? auth.profiles[channel.authProfile]?.token : undefined) ??
      Flag.get(channel.tokenEnv ?? "TELEGRAM_BOT_TOKEN")
    if (!token) {
      out.push({
        name,
        status: "fail",
        detail: "no bot token",
        fix: "drost setup --telegram, or export TELEGRAM_BOT_TOKEN",
      })
      continue
    }
    if ((channel.allowedUsers ?? []).length === 0 && !channel.pairing)
      out.push({
        name: `${name} access`,
        status: "warn",
        detail: "allowedUsers is empty and pairing is off: the bot answers no one",
        fix: "add your user id to allowedUsers",
      })
    if (options.offline) continue
    const result = await probeTelegram(token, { apiRoot: channel.apiRoot, timeoutMs: 5000 })
    out.push({
      name,
      status: result.ok ? "ok" : "fail",
      detail: `getMe: ${result.detail}`,
      ...(result.ok ? {} : { fix: "check the token with @BotFather, then drost setup --telegram" }),
    })
  }
  return out
}

/**
 * Channels of the other kinds: each kind's live check (src/channels/contract.ts ChannelDefinition.check:
 * Discord GET /users/@me, Slack auth.test, …). Telegram has its own checks above.
 */
async function otherChannels(config: Config, options: DoctorOptions): Promise<Check[]> {
  const entries = (config.channels ?? []) as readonly { kind: string }[]
  const { componentNames, loadChannel } = await import("../channels/registry.ts")
  const names = componentNames(entries)
  const out: Check[] = []
  for (const [index, entry] of entries.entries()) {
    if (entry.kind === "telegram" || options.offline) continue
    const name = `${names[index]} channel`
    try {
      const definition = await loadChannel(entry.kind)
      if (!definition.check) continue
      const result = await definition.check(entry, config.stateDir)
      out.push(
        result.ok
          ? { name, status: "ok", detail: result.identity }
          : { name, status: "fail", detail: result.problem, fix: `drost setup --${entry.kind}` },
      )
    } catch (error) {
      out.push({ name, status: "fail", detail: (error as Error).message })
    }
  }
  return out
}

async function port(config: Config): Promise<Check> {
  const { host, port: wanted, enabled } = config.controlApi
  const name = "control api port"
  if (!enabled) return { name, status: "ok", detail: "Control API disabled" }
  // serveApi's refusal (api/server.ts): off loopback only with a configured token, never the generated one.
  if (
    !isLoopbackName(
      host
        .trim()
        .toLowerCase()
        .replace(/^\[|\]$/g, ""),
    ) &&
    !(config.controlApi.token ?? Flag.controlAdminToken())
  )
    return {
      name,
      status: "fail",
      detail: `drost start refuses to serve on ${host} (not loopback) without a configured token`,
      fix: "set controlApi.token or DROST_CONTROL_ADMIN_TOKEN (16+ characters), or controlApi.host to 127.0.0.1",
    }
  const pid = runningGateway(config.stateDir)
  if (pid !== null) {
    if (wanted === 0) return { name, status: "ok", detail: `gateway running (pid ${pid}) on a random port` }
    const health = await fetch(`http://${host}:${wanted}/healthz`, { signal: AbortSignal.timeout(3000) }).catch(
      () => null,
    )
    return health
      ? {
          name,
          status: health.status === 200 ? "ok" : "warn",
          detail: `gateway running (pid ${pid}); /healthz ${health.status}`,
        }
      : { name, status: "warn", detail: `gateway pid ${pid} is alive but ${host}:${wanted} does not answer` }
  }
  if (wanted === 0) return { name, status: "ok", detail: "port 0: a free port is picked at start" }
  const problem = portProblem(host, wanted)
  if (!problem) return { name, status: "ok", detail: `${host}:${wanted} is free` }
  return {
    name,
    status: "fail",
    detail: `${host}:${wanted} is taken (${problem})`,
    fix: "set controlApi.port in drost.config.ts to a free port (or 0), or start with --port",
  }
}

/** The engine the config selects (store.url, DROST_STORE_URL), as the gateway chooses it. */
const choice = (config: Config) =>
  chooseStore({ url: config.store?.url, sqlitePath: Flag.db() ?? join(config.stateDir, "drost.db") })

/**
 * A PostgreSQL store: reachable, and how many sessions it holds. Read only: nothing is migrated here
 * (the gateway does that when it starts), so a doctor of another version never changes a shared schema.
 */
async function postgresStore(url: string, shown: string): Promise<Check> {
  const name = "store"
  const password = URL.canParse(url) ? new URL(url).password : ""
  const scrub = (text: string) =>
    password ? text.replaceAll(password, "***").replaceAll(decodeURIComponent(password), "***") : text
  const sql = new SQL(url, { max: 1, connectionTimeout: 5 })
  try {
    const [table] = await sql`SELECT to_regclass('public.sessions') IS NOT NULL AS present`
    if (!table?.present)
      return { name, status: "ok", detail: `PostgreSQL at ${shown}, empty; its tables are made on first start` }
    const [row] = await sql`SELECT count(*) AS n FROM sessions`
    const sessions = Number(row?.n ?? 0)
    return { name, status: "ok", detail: `PostgreSQL at ${shown}, ${sessions} session${sessions === 1 ? "" : "s"}` }
  } catch (error) {
    const e = error as Error & { code?: string }
    const detail = e.code === "ERR_POSTGRES_CONNECTION_REFUSED" ? "connection refused" : scrub(e.message)
    return {
      name,
      status: "fail",
      detail: `cannot reach PostgreSQL at ${shown}: ${detail}`,
      fix: "check store.url (or DROST_STORE_URL) and that the server runs and accepts this user (pg_isready)",
    }
  } finally {
    await sql.close().catch(() => {})
  }
}

async function store(config: Config): Promise<Check> {
  let chosen: ReturnType<typeof choice>
  try {
    chosen = choice(config)
  } catch (error) {
    return { name: "store", status: "fail", detail: (error as Error).message, fix: "correct store.url" }
  }
  if (chosen.url !== null) return postgresStore(chosen.url, chosen.shown)
  const file = chosen.shown
  const name = "store"
  if (file === ":memory:") return { name, status: "ok", detail: "in memory (DROST_DB=:memory:)" }
  if (!existsSync(file)) return { name, status: "ok", detail: "no database yet; created on first start" }
  try {
    const db = new Database(file, { readonly: true })
    try {
      const rows = db.query("PRAGMA quick_check").all() as { quick_check: string }[]
      const verdict = rows.map((row) => row.quick_check).join("; ")
      const sessions = (db.query("SELECT count(*) AS n FROM sessions").get() as { n: number } | null)?.n ?? 0
      return verdict === "ok"
        ? {
            name,
            status: "ok",
            detail: `${relative(config.workspaceDir, file)} intact, ${sessions} session${sessions === 1 ? "" : "s"}`,
          }
        : {
            name,
            status: "fail",
            detail: `integrity check: ${verdict.slice(0, 200)}`,
            fix: "stop the gateway and run drost doctor --repair (the damaged file is kept), or restore a backup",
          }
    } finally {
      db.close()
    }
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: `cannot read ${file}: ${(error as Error).message}`,
      fix: "check the file's permissions; if it is damaged, stop the gateway and run drost doctor --repair",
    }
  }
}

function deno(config: Config): Check {
  const path = `${join(config.workspaceDir, "node_modules", ".bin")}:${Flag.get("PATH") ?? ""}`
  const found = config.tools?.deno ?? Bun.which("deno", { PATH: path })
  const needed = config.tools?.sandbox === "deno"
  if (found && existsSync(found)) return { name: "deno", status: "ok", detail: found }
  return needed
    ? {
        name: "deno",
        status: "fail",
        detail: 'tools.sandbox is "deno" but no deno executable was found',
        fix: "install Deno (https://deno.com) or set tools.deno to its path",
      }
    : {
        name: "deno",
        status: "warn",
        detail: 'not found; only needed for tools.sandbox: "deno"',
        fix: "optional: install Deno for sandboxed workspace tools",
      }
}

/** Which OS sandbox confines the shell, workspace tools, MCP stdio servers and gate commands. */
async function sandbox(config: Config): Promise<Check> {
  const status = await createSandbox(config.sandbox ?? "auto").check()
  const name = "sandbox"
  if (status.kind === "off")
    return {
      name,
      status: "warn",
      detail: status.reason ?? "off",
      fix: 'remove sandbox: "off" from the config to confine what the model runs',
    }
  if (status.kind) return { name, status: "ok", detail: `${status.kind} (${status.executable})` }
  return {
    name,
    status: "warn",
    detail: `none: ${status.reason}; shell, workspace tools and MCP stdio servers are off`,
    fix:
      process.platform === "linux"
        ? 'install bubblewrap (apt-get install bubblewrap), or set sandbox: "off" to run them unconfined'
        : 'set sandbox: "off" to run them unconfined (not recommended)',
  }
}

function mcp(config: Config): Check[] {
  const servers = Object.entries(config.mcp?.servers ?? {})
  if (servers.length === 0) return [{ name: "mcp", status: "ok", detail: "no MCP servers configured" }]
  return servers.map(([id, server]): Check => {
    const name = `mcp ${id}`
    if (!("command" in server)) return { name, status: "ok", detail: `HTTP ${server.url} (not contacted)` }
    if (server.command === "bun") return { name, status: "ok", detail: "runs on the runtime itself" }
    const found = Bun.which(server.command)
    return found
      ? { name, status: "ok", detail: found }
      : {
          name,
          status: "warn",
          detail: `command "${server.command}" not found on PATH`,
          fix: `install ${server.command} or fix mcp.servers.${id}.command`,
        }
  })
}

export async function runChecks(options: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = []
  let config: Config
  try {
    config = await load({ root: options.workspace, file: options.config })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return [
      {
        name: "config",
        status: "fail",
        detail: `${error.file}\n${error.lines.map((line) => `      ${line}`).join("\n")}`,
        fix: "correct the lines above (docs/configuration.md), or run drost setup",
      },
    ]
  }
  checks.push(
    config.file
      ? { name: "config", status: "ok", detail: relative(process.cwd(), config.file) || config.file }
      : {
          name: "config",
          status: "warn",
          detail: "no drost.config.* here: the defaults (offline demo provider) apply",
          fix: "drost setup",
        },
  )
  // Modes first: reading the auth file tightens it.
  checks.push(...secretFiles(config))
  const auth: AuthFile = (() => {
    try {
      return readAuth(config.stateDir)
    } catch (error) {
      checks.push({
        name: "auth profiles",
        status: "fail",
        detail: (error as Error).message,
        fix: `repair or delete ${authPath(config.stateDir)}, then drost setup`,
      })
      return { profiles: {} }
    }
  })()
  const [providerChecks, telegramChecks, channelChecks, pluginChecks, portCheck, sandboxCheck, storeCheck] =
    await Promise.all([
      providers(config, options),
      telegram(config, auth, options),
      otherChannels(config, options),
      pluginChannelChecks(config, options),
      port(config),
      sandbox(config),
      store(config),
    ])
  checks.push(
    ...providerChecks,
    ...telegramChecks,
    ...channelChecks,
    ...pluginChecks,
    portCheck,
    storeCheck,
    sandboxCheck,
    deno(config),
    ...mcp(config),
  )
  return checks
}

const MARK: Record<Status, string> = { ok: "✓", warn: "!", fail: "✗" }

/**
 * `--repair`: only with the gateway stopped (its lock is taken for the duration), and only when the
 * store check fails; prints what was kept, copied and lost. A SQLite file's repair: a PostgreSQL store
 * is refused (exit 1), before anything is touched.
 */
async function repairStore(options: DoctorOptions): Promise<number> {
  const config = await load({ root: options.workspace, file: options.config })
  const chosen = choice(config)
  if (chosen.engine !== "sqlite") {
    const where = chosen.shown.replace(/^postgres(ql)?:\/\/([^@/]*@)?/i, "")
    process.stderr.write(
      `drost doctor --repair: the store is PostgreSQL at ${where}; --repair mends a SQLite file only. Check that database with PostgreSQL's tools (pg_isready, amcheck) and restore it from a pg_dump backup if it is damaged\n`,
    )
    return 1
  }
  const file = chosen.shown
  const before = await store(config)
  if (before.status === "ok") {
    process.stdout.write(`drost doctor --repair: ${before.detail}; nothing to repair\n`)
    return 0
  }
  const lock = acquire(config.stateDir)
  try {
    const report = repair(file)
    const lines = [
      `drost doctor --repair: ${file}`,
      `  the damaged file is kept as ${report.quarantined}`,
      ...(report.unreadable
        ? [`  nothing could be read from it (${report.unreadable}); a new, empty database is in its place`]
        : report.tables.map(
            (table) =>
              `  ${table.table}: ${table.copied} rows copied${table.lost ? `, ${table.lost} lost` : ""}${table.endUnreadable ? ", the rest of the table unreadable" : ""}`,
          )),
      ...(report.placeholders ? [`  ${report.placeholders} sessions recreated from their messages`] : []),
      "  the memory index is rebuilt from memory/ at the next start; start the gateway again",
    ]
    process.stdout.write(`${lines.join("\n")}\n`)
    return report.unreadable ? 1 : 0
  } finally {
    lock.release()
  }
}

export async function doctor(options: DoctorOptions & { json?: boolean }): Promise<number> {
  if (options.repair) return repairStore(options)
  const checks = await runChecks(options)
  const failed = checks.filter((check) => check.status === "fail").length
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: failed === 0, checks }, null, 2)}\n`)
    return failed === 0 ? 0 : 1
  }
  const width = Math.max(...checks.map((check) => check.name.length))
  const lines = checks.map((check) => {
    const head = `${MARK[check.status]} ${check.name.padEnd(width)}  ${check.detail}`
    return check.fix && check.status !== "ok" ? `${head}\n  ${" ".repeat(width)}  fix: ${check.fix}` : head
  })
  const warned = checks.filter((check) => check.status === "warn").length
  const summary = failed
    ? `${failed} blocking problem${failed === 1 ? "" : "s"}${warned ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}.`
    : warned
      ? `No blocking problems; ${warned} warning${warned === 1 ? "" : "s"}.`
      : "All good."
  process.stdout.write(`drost doctor · ${options.workspace}\n\n${lines.join("\n")}\n\n${summary}\n`)
  return failed === 0 ? 0 : 1
}
