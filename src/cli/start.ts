/**
 * `drost start`: load config, start the gateway, serve the Control API, and either chat in the
 * terminal (TTY) or run as a server (no TTY; never reads stdin). Stops gracefully on SIGINT/SIGTERM
 * and restarts when a restart is requested: in place, or, under `drost start`'s supervisor (the usual
 * case, see supervisor.ts), by exiting with RESTART so the supervisor starts a fresh process.
 */
import { relative } from "node:path"
import { type ApiServer, UnsafeBind, serveApi } from "../api/server.ts"
import type { Channels } from "../channels/registry.ts"
import { GatewayEvent } from "../gateway/events.ts"
import { type Gateway, startGateway } from "../gateway/gateway.ts"
import { scheduleBackups } from "../ops/schedule.ts"
import { load } from "../gateway/load.ts"
import { resolveTokens } from "../gateway/token.ts"
import { DrostError } from "../core/error.ts"
import { VERSION } from "../util/version.ts"
import { serveSupervisor, stopSignalled } from "./child.ts"
import { RESTART } from "./exit.ts"
import { Flag } from "../util/flag.ts"
import { ui as consola } from "./ui.ts"

export interface StartArgs {
  workspace: string
  config?: string
  /** Force server mode even in a terminal. */
  server?: boolean
  /** Control API port override (`--port`; 0 picks a free one). */
  port?: number
}

type Exit = "signal" | "restart" | "quit"

export async function start(args: StartArgs): Promise<number> {
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY && !args.server)
  // First run in a folder without a config: a person at a terminal is offered the wizard.
  if (interactive && !args.config) await (await import("./setup.ts")).offerSetup(args.workspace, { port: args.port })
  for (;;) {
    const config = await load({ root: args.workspace, file: args.config })
    if (args.port !== undefined) config.controlApi.port = args.port
    const gw = await startGateway(config)
    const tokens = resolveTokens(config)
    let server: ApiServer | null = null
    if (config.controlApi.enabled) {
      try {
        server = serveApi(gw, tokens)
      } catch (error) {
        await gw.stop("control api failed to start")
        if (error instanceof UnsafeBind) throw error
        throw new DrostError(
          "PortUnavailable",
          `cannot serve the Control API on ${config.controlApi.host}:${config.controlApi.port} (${(error as Error).message}); set controlApi.port to a free port, or 0`,
        )
      }
    }
    // Channels come up after the gateway and the Control API; a channel problem only degrades the gateway.
    // The Bot API client loads only when a channel is configured (or a plugin brings one).
    const hasChannels = gw.config.channels?.length || gw.plugins.list().some((plugin) => plugin.channels.length)
    const channels: Channels = hasChannels ? await startChannelList(gw) : { stop: async () => {} }
    gw.continuity.schedules.start()
    gw.continuity.heartbeat.start()
    const backups = scheduleBackups(gw.config, gw.storage)
    const url = server?.url ?? null
    const provider = gw.providers.get(config.providers.defaultSessionProvider)
    const where = relative(process.cwd(), config.workspaceDir) || "."
    // A default profile the gateway could not build is named as such; the warning above says why and the fix.
    const profile = config.providers.profiles.find((each) => each.id === config.providers.defaultSessionProvider)
    const named = provider
      ? `${provider.id} (${provider.kind})`
      : profile
        ? `${profile.id} (${profile.kind}, not usable: see the warning)`
        : "none"
    consola.info(`drost ${VERSION} · workspace ${where} · provider ${named}`)
    if (url)
      consola.info(
        `Control API ${url}/control/v1 · dashboard ${url}/ · token ${tokens.file ? `in ${relative(process.cwd(), tokens.file)}` : "from config/env"}`,
      )
    if (provider?.kind === "demo")
      consola.info(
        // No docs/ path here: the downloaded binary comes without the repository's docs folder.
        "Using the offline demo provider. For a real model run `drost setup` (it asks for the provider and key and checks them), or e.g. `OPENAI_API_KEY=… drost setup --yes --provider openai`; `drost setup --help` lists every provider and option.",
      )
    const confined = await gw.toolset.confine.check()
    if (confined?.kind === "off") consola.warn(`sandbox off: ${confined.reason}`)
    else if (confined && !confined.kind)
      consola.warn(`no OS sandbox: ${confined.reason}. The shell, workspace tools and MCP stdio servers are off.`)
    else if (confined) consola.info(`sandbox ${confined.kind}: shell, workspace tools and MCP servers run confined`)
    const state = gw.state()
    if (state.state !== "running") consola.warn(`gateway ${state.state}: ${state.reasons.join("; ")}`)
    if (!interactive) consola.info("No terminal attached: running as a server (Ctrl-C or SIGTERM stops it).")
    // Machine-readable readiness line for supervisors and tests.
    if (!interactive) process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, url })}\n`)
    // Under the supervisor: announce readiness over IPC and answer its health gate.
    const unserve = serveSupervisor(gw, url)

    const exit = await new Promise<Exit>((resolve) => {
      const onSignal = () => resolve("signal")
      process.once("SIGINT", onSignal)
      process.once("SIGTERM", onSignal)
      if (stopSignalled()) onSignal()
      gw.bus.subscribe(GatewayEvent.RestartRequested, () => resolve("restart"))
      if (interactive) import("./chat.ts").then(({ runChat }) => runChat(gw).then(() => resolve("quit")))
    })
    process.removeAllListeners("SIGINT")
    process.removeAllListeners("SIGTERM")
    // A second Ctrl-C during the grace period stops at once; open turns are then recovered as interrupted.
    process.once("SIGINT", () => process.exit(130))
    consola.info(exit === "restart" ? "restarting…" : "stopping…")
    const reason = exit === "restart" ? "restart requested" : exit === "quit" ? "chat closed" : "signal"
    // Order matters: running turns finish (their SSE clients get the outcome), then the port closes,
    // then the store.
    // Channels stop first: no new updates, their in-flight answers finish within the grace period.
    // Schedule timers stop too; a scheduled turn already running drains like any other.
    void gw.continuity.schedules.stop()
    void gw.continuity.heartbeat.stop()
    await backups?.stop()
    await channels.stop()
    await gw.drain(reason)
    await server?.stop()
    await gw.stop(reason)
    unserve()
    process.removeAllListeners("SIGINT")
    // Supervised, a restart is a fresh process: new code (after an evolution) takes effect.
    if (exit === "restart" && Flag.supervised()) return RESTART
    if (exit !== "restart") return 0
  }
}

/** Every configured channel (src/channels/registry.ts), each with its schedule delivery. */
async function startChannelList(gw: Gateway): Promise<Channels> {
  const { startChannels } = await import("../channels/registry.ts")
  return await startChannels(gw)
}
