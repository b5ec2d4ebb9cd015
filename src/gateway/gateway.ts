/**
 * The composition root: `startGateway(config)` takes the workspace lock, opens the store, builds the
 * tool registry and the providers, recovers turns a crash left open and returns the running services.
 * Channels and the Control API are started by the CLI on top of it. Every service is an instance, so a
 * test can run several gateways in one process.
 */

import type { Database } from "bun:sqlite"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { TurnEvent } from "../agent/events.ts"
import type { Jobs } from "../agent/jobs.ts"
import { skillsSection } from "../agent/prompt.ts"
import { createSessions, type Sessions } from "../agent/session.ts"
import { type Approvals, createApprovals } from "../approval/service.ts"
import { type Bus, createBus } from "../bus/bus.ts"
import { type BusLink, linkBus } from "../bus/cluster.ts"
import { createSink, type Sink } from "../bus/sink.ts"
import type { Config } from "../core/config.ts"
import { lanePolicy } from "../core/continuity-config.ts"
import type { Provider } from "../core/provider.ts"
import { createEvolution, type EvolutionService } from "../evolve/service.ts"
import type { Plugins } from "../plugins/plugins.ts"
import type { ProbeResult } from "../providers/probe.ts"
import { offKey } from "../skills/catalog.ts"
import { createSkills, type Skills } from "../skills/service.ts"
import { loadedSwitches } from "../skills/switches.ts"
import { createTurnLeases } from "../agent/lease.ts"
import type { Store } from "../store/engine/contract.ts"
import { newGatewayId, STALE_BEATS } from "../store/gateways.ts"
import { evolveTool } from "../tool/builtin/evolve.ts"
import { sessionsSearchTool } from "../tool/builtin/search-sessions.ts"
import { skillTools } from "../tool/builtin/skill.ts"
import type { ToolRegistry } from "../tool/registry.ts"
import { createToolset, type Toolset, toolsConfig } from "../tool/toolset.ts"
import { Flag } from "../util/flag.ts"
import { Log } from "../util/log.ts"
import { VERSION } from "../util/version.ts"
import { secretOf } from "./auth.ts"
import { type BudgetService, createBudgets } from "./budgets.ts"
import { type Continuity, createContinuity } from "./continuity.ts"
import { GatewayEvent } from "./events.ts"
import { createJobService } from "./jobs.ts"
import { acquire, type Lock } from "./lock.ts"
import { startPlugins } from "./plugins.ts"
import { type GatewayStore, openGatewayStore } from "./store.ts"
import { createProviderHub, type ProviderStatus } from "./provider-hub.ts"
import { registerSecrets } from "./secrets.ts"
import { startTraces } from "./traces.ts"

const GONE = "interrupted: the gateway stopped (crash or kill) while this turn was open"

export type State = "starting" | "running" | "degraded" | "stopping" | "stopped"

/** How old the count of peers on a shared SQLite file may be when a turn starts (see `shared`). */
const PEERS_MS = 100

export interface Gateway {
  /** This process's id in the store's `gateways` table; the `owner` of every turn it accepts. */
  id: string
  config: Config
  bus: Bus
  /**
   * The store (src/store/engine/contract.ts): everything the gateways on one database share. On SQLite
   * over this gateway's own synchronous stores (one history cache, one search indexer), on PostgreSQL
   * over one pool. Every read and write of shared state goes through it.
   */
  data: Store
  /** The engine and what is per node: `storage.local`, this node's SQLite file (src/gateway/store.ts). */
  storage: GatewayStore
  tools: ToolRegistry
  /** Workspace tool loader, MCP servers and tool diagnostics (rejections) around the registry. */
  toolset: Toolset
  providers: Map<string, Provider>
  /** Per profile: availability, auth source (never the key), cooldown, attempts, usage and cost. */
  providerStatus(): Promise<ProviderStatus[]>
  /** One cheap request per profile, in parallel, each bounded by `timeoutMs`; the results show in status. */
  probeProviders(timeoutMs?: number): Promise<ProbeResult[]>
  sessions: Sessions
  /** Memory index, prompt assembly and history compaction. */
  continuity: Continuity
  /** Self-evolution transactions and their audit trail (src/evolve). */
  evolution: EvolutionService
  /** Tool calls waiting for a person (tools.approve), and how they were decided (src/approval). */
  approvals: Approvals
  /** Background work: subagents and background shell processes (src/agent/jobs.ts). */
  jobs: Jobs
  /** Plugins from the workspace's node_modules: their state, providers, commands, routes (src/plugins). */
  plugins: Plugins
  /** Agent Skills: discovery, hot reload, per-session switches (src/skills, docs/skills.md). */
  skills: Skills
  /** Cost per session and turn (at the profiles' prices) and the spending limits (config `budgets`). */
  budgets: BudgetService
  startedAt: number
  state(): { state: State; reasons: string[] }
  /** Report a component's health; any unhealthy component makes the gateway `degraded`. */
  setHealth(component: string, problem: string | null): void
  requestRestart(by: string): void
  /** Refuse new turns and let running ones finish (up to the grace period); the store stays open. */
  drain(reason?: string): Promise<void>
  stop(reason?: string): Promise<void>
}

export interface StartOptions {
  /** Take the one-gateway-per-workspace lock (default true). */
  lock?: boolean
}

export async function startGateway(config: Config, options: StartOptions = {}): Promise<Gateway> {
  const log = Log.create("gateway")
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 })
  for (const dir of ["memory", "tools", "prompts", "skills"])
    mkdirSync(join(config.workspaceDir, dir), { recursive: true })
  const lock: Lock | null = options.lock === false ? null : acquire(config.stateDir)
  /** Run in reverse at stop, each awaited (the job runner's endings are written before the sinks close). */
  const cleanup: (() => unknown)[] = []
  let closeStore = async () => {}
  let link: BusLink | null = null
  const unlink = async () => {
    const linked = link
    link = null
    await linked
      ?.close()
      .catch((error) => Log.create("gateway").warn("closing the bus's cluster link failed", { error: String(error) }))
  }
  // Exact credential values, redacted wherever redaction applies (logs, events.jsonl, stored errors).
  registerSecrets(config)
  try {
    // Turn ownership: this gateway's row (and heartbeat) in the store; its turns carry its id, so another
    // gateway on the same store interrupts them only once this one is gone (src/store/gateways.ts).
    const id = newGatewayId()
    // SQLite (default) or PostgreSQL (store.url, DROST_STORE_URL): src/gateway/store.ts. Disk full, corruption
    // met at run time, the file deleted under us: reported as the `store` component.
    const opened = await openGatewayStore(config, id)
    const { data, health: storeHealth } = opened
    // Closed after every other cleanup (at the end of stop, or when the start fails), once its row is gone.
    closeStore = async () => {
      await unlink()
      await data.gateways
        .remove(id)
        .catch((error) => log.warn("could not remove this gateway's row", { error: String(error) }))
      await opened.close().catch((error) => log.warn("store close failed", { error: String(error) }))
    }
    const heartbeatMs = config.store?.heartbeatMs ?? 2000
    await data.gateways.register(id)
    // Ids continue from the wall clock (×1000) so they keep rising across restarts without a write per event.
    const bus = createBus({ startId: Date.now() * 1000 })
    // Several gateways on PostgreSQL share one event stream (src/bus/cluster.ts): every node's subscribers
    // hear every node's events, ids from the store's one sequence, so Last-Event-ID works against any node.
    if (data.engine === "postgres") link = await linkBus(bus, data, { node: id })
    const sink: Sink = createSink(bus, join(config.stateDir, "logs"), config.logs)
    cleanup.push(() => sink.close())
    // OpenTelemetry traces of turns (config telemetry), from the same events.
    if (config.telemetry) {
      const traces = startTraces({ bus, settings: config.telemetry, log: Log.create("telemetry") })
      cleanup.push(() => traces.stop())
    }

    // Self-evolution: a transaction a crash left open is rolled back before anything loads its files.
    const evolution = createEvolution({
      config,
      bus,
      log: Log.create("evolution"),
      supervised: Flag.supervised(),
      requestRestart: (by) => gateway.requestRestart(by),
    })
    await evolution.recover()

    const health = new Map<string, string>()
    // Plugins (config `plugins`): imported here, before the registries they add to; a broken one is
    // skipped with its reason (/status). Their tools go to the sandboxed tool hosts below, not here.
    const plugins = await startPlugins(config)
    // Built-ins, policy, workspace tools (a sandboxed host process per generation) and MCP servers.
    const toolset = createToolset(config, {
      log: Log.create("tool"),
      secret: (id) => secretOf(config.stateDir, id),
      pluginFiles: () => plugins.toolFiles(),
      emit: (def, data) => bus.publish(def, data),
      health(component, problem) {
        // MCP servers may report before `gateway` exists (still starting): record it, publish later.
        try {
          gateway.setHealth(component, problem)
        } catch {
          if (problem) health.set(component, problem)
          else health.delete(component)
        }
      },
    })
    const tools = toolset.registry
    // tools.approve: matching calls wait for a person; a request the last run left open is denied now.
    const approvalSettings = toolsConfig(config)
    const approvals = createApprovals({
      stateDir: config.stateDir,
      bus,
      log: Log.create("approval"),
      settings: () => ({ approve: approvalSettings.approve, timeoutMs: approvalSettings.approvalTimeoutMs }),
    })
    approvals.recover()
    tools.setApprover(approvals.hook)
    cleanup.push(() => approvals.close())
    await toolset.start()
    if (evolution.settings.enabled) tools.register(evolveTool(() => evolution))
    cleanup.push(() => void toolset.stop())
    // Adapters with credentials from .drost/auth-profiles.json or the environment, behind the failover router.
    const hub = createProviderHub(
      config,
      (id, problem) => {
        health.set(`provider:${id}`, problem)
        log.warn("provider unavailable", { id, error: problem })
      },
      (profile) => plugins.provider(profile),
    )
    const providers = hub.providers

    // Agent Skills (skills/ and skills.paths): names in the prompt, skill.load / skill.read for the rest.
    // The per-session skill switches: the SQLite store's kv as it is; on PostgreSQL loaded before each turn.
    const skillSwitches = opened.sqlite ? null : loadedSwitches(data.sessions.kv)
    const skills = createSkills(config, {
      log: Log.create("skills"),
      emit: (def, data) => bus.publish(def, data),
      switches: opened.sqlite?.sessions.kv ?? skillSwitches ?? undefined,
      section: skillsSection,
    })
    skills.refresh()
    for (const tool of skillTools(skills.catalog, toolset.boundary, () => skills.refresh())) tools.register(tool)
    // Memory tools, the system prompt builder and the history window (compaction).
    const continuity = createContinuity({
      config,
      db: opened.local,
      data,
      bus,
      tools,
      providers: () => providers,
      create: () => sessions.create,
      sessions: () => sessions,
      skills: (sessionId) => skills.section(sessionId),
      owner: { id, staleMs: heartbeatMs * STALE_BEATS },
    })
    cleanup.push(() => continuity.close())
    // sessions.search: what was said in every stored session (store/search.ts), times in the owner's zone.
    tools.register(sessionsSearchTool(data.search, () => config.timeZone ?? config.context.timeZone))
    // Several gateways on this store (PostgreSQL, or peers registered on the SQLite file): each turn holds
    // its session's lease (src/agent/lease.ts). Peers are counted again when a turn starts, at most every
    // PEERS_MS: a gateway that started a moment ago is leasing already, and a turn here must too.
    let peers = { shared: (await data.gateways.list()).length > 1, at: Date.now() }
    const shared = async () => {
      if (data.engine === "postgres") return true
      if (Date.now() - peers.at >= PEERS_MS) peers = { shared: (await data.gateways.list()).length > 1, at: Date.now() }
      return peers.shared
    }
    const sessions = createSessions({
      data,
      bus,
      leases: createTurnLeases({
        leases: data.leases,
        owner: id,
        ttlMs: heartbeatMs * STALE_BEATS,
        staleMs: heartbeatMs * STALE_BEATS,
        shared,
        forget: (sessionId) => data.sessions.forget(sessionId),
        log: Log.create("lease"),
      }),
      tools,
      providers: () => hub.routed,
      defaultProvider: () => config.providers.defaultSessionProvider,
      systemPrompt: async (sessionId) => {
        if (skillSwitches && skills.catalog.snapshot().skills.length) await skillSwitches.load(offKey(sessionId))
        return continuity.context.system(sessionId).text
      },
      window: continuity.window,
      lane: (source) => lanePolicy(config.orchestration, source),
      limits: () => ({
        maxSteps: config.agent.maxSteps,
        maxToolCalls: config.agent.maxToolCalls,
        turnTimeoutMs: config.agent.turnTimeoutMs,
      }),
      workspace: {
        root: config.workspaceDir,
        tools: join(config.workspaceDir, "tools"),
        memory: join(config.workspaceDir, "memory"),
        prompts: join(config.workspaceDir, "prompts"),
      },
      log: Log.create("session"),
      // A tool file or skill added, edited or deleted since the last turn takes effect now.
      beforeTurn: () => {
        skills.refresh()
        return toolset.refresh()
      },
      admit: (turn, signal) => budgets.admit(turn, signal),
    })
    // Cost per session and turn at the profiles' prices, and the budgets checked as each turn starts.
    const budgets = createBudgets({ config, data, bus, approvals })

    // Subagents (agent.spawn) and background shell commands; stopped before the store closes.
    const jobs = createJobService({
      config,
      data,
      bus,
      sessions: () => sessions,
      toolset,
      deliveries: continuity.deliveries,
    })
    cleanup.push(() => jobs.stop())

    // Open turns, running background jobs and schedule runs whose gateway is gone (this host's previous
    // run, killed; or a peer on the same database that stopped heartbeating) become interrupted, each
    // reported. The same path and one judge of owners run at start and on every heartbeat (below), so a
    // peer's work is taken over while this gateway runs. The jobs' notes are written after it resolves.
    // Turns through the store contract (judged there by the same rule: not registered, silent for
    // STALE_BEATS heartbeats, or on this host with its pid gone); jobs and schedule runs still through
    // the synchronous stores, with this registry's judge.
    const staleMs = heartbeatMs * STALE_BEATS
    const recoverGone = async () => {
      const lost = await data.sessions.recoverInterrupted(GONE, { gone: { self: id, staleMs } })
      const notes = jobs.recover({ gone: { self: id, staleMs } })
      const runs = await continuity.schedules.recover({ gone: { self: id, staleMs } })
      await data.gateways.prune({ self: id, staleMs })
      for (const run of runs)
        log.warn("schedule run interrupted: its gateway is gone", { schedule: run.id, due: run.due, why: run.why })
      for (const turn of lost) {
        bus.publish(TurnEvent.Interrupted, {
          sessionId: turn.sessionId,
          turnId: turn.id,
          reason: turn.error ?? "interrupted",
        })
        log.warn("turn interrupted: its gateway is gone", { session: turn.sessionId, turn: turn.id, why: turn.why })
      }
      return { turns: lost, notes }
    }
    // On a full disk this cannot be written now; the turns stay open and are marked by a later sweep or start.
    let interrupted: Awaited<ReturnType<typeof recoverGone>>["turns"] = []
    try {
      const recovered = await recoverGone()
      interrupted = recovered.turns
      // Jobs the gone gateways left running ended as interrupted, with a note to the session that started them.
      const lost = await recovered.notes
      if (lost.length) log.warn("background jobs interrupted: their gateway is gone", { jobs: lost.length })
    } catch (error) {
      if (!storeHealth.problem()) throw error
    }
    // The heartbeat: this gateway is alive (peers judge it by this), and the sweep for turns of gateways that are not.
    let beatFailure: string | null = null
    const failed = (error: unknown) => {
      if (beatFailure !== String(error)) log.warn("heartbeat failed", { error: String(error) })
      beatFailure = String(error)
      // SQLite's faults are the file's health guard's to report; a PostgreSQL server that cannot be reached is this.
      if (data.engine === "postgres") gateway.setHealth("store", `${opened.shown}: ${beatFailure}`)
    }
    /** A beat or sweep still under way (a slow store) is not started again beside itself. */
    let beating = false
    let sweeping = false
    const heartbeat = setInterval(() => {
      if (beating) return
      beating = true
      data.gateways.beat(id).then(
        (alive) => {
          beating = false
          if (!alive)
            log.warn("this gateway was found silent by a peer; its open turns and jobs may have been interrupted")
          if (sweeping) return
          sweeping = true
          return recoverGone()
            .then((recovered) => {
              beatFailure = null
              if (data.engine === "postgres") gateway.setHealth("store", null)
              void recovered.notes.catch((error) =>
                log.warn("job notes after a sweep failed", { error: String(error) }),
              )
            }, failed)
            .finally(() => {
              sweeping = false
            })
        },
        (error) => {
          beating = false
          failed(error)
        },
      )
    }, heartbeatMs)
    heartbeat.unref?.()
    cleanup.push(() => clearInterval(heartbeat))

    let current: State = "running"
    const publishState = () => {
      const reasons = [...health.entries()].map(([component, problem]) => `${component}: ${problem}`)
      const next: State =
        current === "stopping" || current === "stopped" ? current : reasons.length ? "degraded" : "running"
      current = next
      bus.publish(GatewayEvent.State, { state: next, reasons })
    }
    if (providers.size === 0) health.set("providers", "no provider could be created")
    const storeProblem = (problem: string | null) => {
      if ((health.get("store") ?? null) === problem) return
      if (problem) health.set("store", problem)
      else health.delete("store")
      publishState()
    }
    if (storeHealth.problem()) health.set("store", storeHealth.problem()!)
    cleanup.push(storeHealth.onChange(storeProblem) as () => void)
    // Every 2 s: is the file still ours (also checked at each turn start), and has a full disk got room again?
    const watch = setInterval(() => {
      storeHealth.verify()
      if (storeHealth.recover())
        void data.sessions
          .flushDeferred()
          .catch((error) => log.warn("held-back turn ends not written", { error: String(error) }))
    }, 2000)
    watch.unref?.()
    cleanup.push(() => clearInterval(watch))

    let draining: Promise<void> | null = null
    let stopping: Promise<void> | null = null
    const gateway: Gateway = {
      id,
      config,
      bus,
      data,
      storage: opened,
      tools,
      toolset,
      providers,
      providerStatus: async () => hub.status(await data.sessions.stepUsageByProvider()),
      probeProviders: (timeoutMs = config.providers.probeTimeoutMs ?? 5000) => hub.probe(timeoutMs),
      sessions,
      continuity,
      evolution,
      approvals,
      jobs,
      skills,
      plugins,
      budgets,
      startedAt: Date.now(),
      state: () => ({
        state: current,
        reasons: [...health.entries()].map(([component, problem]) => `${component}: ${problem}`),
      }),
      setHealth(component, problem) {
        if ((health.get(component) ?? null) === problem) return
        if (problem) health.set(component, problem)
        else health.delete(component)
        publishState()
      },
      requestRestart(by) {
        bus.publish(GatewayEvent.RestartRequested, { by })
      },
      drain(reason = "stop requested") {
        draining ??= (async () => {
          current = "stopping"
          bus.publish(GatewayEvent.Stopping, { reason })
          await sessions.drain(config.shutdown.graceMs)
        })()
        return draining
      },
      stop(reason = "stop requested") {
        stopping ??= (async () => {
          await plugins.stopChannels() // no new input from a plugin's front end while turns finish
          await gateway.drain(reason)
          // A full or vanished disk must not stop the stop: what cannot be written is marked at the next start.
          let left: unknown[] = []
          try {
            await data.sessions.flushDeferred()
            // Only this gateway's own turns: another gateway on the same database keeps running its own.
            left = await data.sessions.recoverInterrupted(`interrupted: ${reason}`, { owner: id })
          } catch (error) {
            log.warn("could not mark open turns at stop", { error: String(error) })
          }
          current = "stopped"
          bus.publish(GatewayEvent.Stopped, { reason, interruptedTurns: left.length })
          // Linked (PostgreSQL): this node's own events come back through the store; hear them before the
          // sinks close, then the bus delivers here directly (what the job runner's stop publishes).
          await unlink()
          for (const fn of cleanup.reverse()) {
            try {
              await fn()
            } catch (error) {
              log.warn("cleanup failed at stop", { error: String(error) })
            }
          }
          await closeStore()
          lock?.release()
        })()
        return stopping
      },
    }
    bus.publish(GatewayEvent.Started, {
      gatewayId: id,
      pid: process.pid,
      workspace: config.workspaceDir,
      version: VERSION,
      interruptedTurns: interrupted.length,
    })
    publishState()
    // Plugin channels start with the built-in ones (src/channels/registry.ts), on the same channel host.
    if (config.providers.probeOnStart) {
      // A failed probe marks the gateway degraded with the reason; turns still run (failover may help).
      for (const result of await gateway.probeProviders()) {
        if (result.code !== "ok") gateway.setHealth(`provider:${result.id}`, `probe ${result.code}: ${result.message}`)
      }
    }
    return gateway
  } catch (error) {
    for (const fn of cleanup.reverse()) fn()
    await closeStore()
    lock?.release()
    throw error
  }
}
