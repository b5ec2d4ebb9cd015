/**
 * Wires memory and continuity into the gateway: the memory index and its tools, the system prompt
 * builder, and the history window (compaction). One call from the composition root, so gateway.ts only
 * learns of one object.
 */
import { join } from "node:path"
import type { Database } from "bun:sqlite"
import type { Bus } from "../bus/bus.ts"
import type { Config } from "../core/config.ts"
import { type ContextBuilder, createContextBuilder, type SystemPrompt } from "../agent/context.ts"
import { estimate } from "../agent/tokens.ts"
import type { ChatMessage } from "../core/message.ts"
import type { ToolSpec } from "../core/provider.ts"
import { createHistoryWindow, type HistoryWindow } from "../agent/window.ts"
import { type ContinueDeps, type Continued, continueSession } from "../agent/continue.ts"
import { ContinuityEvent } from "../agent/continuity-events.ts"
import { createScheduler, type Scheduler, type SchedulerDeps } from "../agent/schedules.ts"
import { createScheduleBook, type ScheduleBook } from "../agent/schedule-book.ts"
import { createHeartbeat, type Heartbeat } from "../agent/heartbeat.ts"
import { scheduleTools } from "../tool/builtin/schedule.ts"
import type { Sessions } from "../agent/session.ts"
import { createDeliveries, type Deliveries } from "./delivery.ts"
import { applyRetention, type RetentionReport, type RetentionRule } from "../agent/retention.ts"
import type { Portable } from "../store/portable.ts"
import type { Provider } from "../core/provider.ts"
import { createMemoryIndex, type MemoryIndex } from "../memory/index.ts"
import { createNotes } from "../memory/notes.ts"
import type { Store } from "../store/engine/contract.ts"
import { memoryTools } from "../tool/builtin/memory.ts"
import type { ToolRegistry } from "../tool/registry.ts"
import { Log } from "../util/log.ts"
import { boundaryOf } from "../workspace/boundary.ts"

/** Exactly what the next turn of a session would send (without compacting or calling anything). */
export interface PromptPreview {
  sessionId: string | null
  provider: string
  system: SystemPrompt
  tools: ToolSpec[]
  toolTokens: number
  history: ChatMessage[]
  historyTokens: number
  budget: number
  windowTokens: number
  summaryUpto: number | null
}

export interface Continuity {
  memory: MemoryIndex
  notes: ReturnType<typeof createNotes>
  context: ContextBuilder
  window: HistoryWindow
  preview(sessionId: string | null, provider: string): Promise<PromptPreview>
  /** /new: a fresh session starting from a summary of `fromId` (when given). */
  startNew(fromId: string | null, input?: { channel?: string; channelKey?: string }): Promise<Continued>
  /** Where schedules send their answers; channels register here. */
  deliveries: Deliveries
  /** Timed turns; started by the CLI once the channels are up (so deliveries exist). */
  schedules: Scheduler
  /** Schedules made at run time (agent tools, Control API, /schedules) and the config's, listed. */
  scheduleBook: ScheduleBook
  /** The periodic checklist turn (config heartbeat); started with the schedules. */
  heartbeat: Heartbeat
  /** Export and import sessions as JSON. */
  portable: Portable
  /** Archive or delete old sessions; `rule` overrides the configured limits. */
  retention(options: { dryRun: boolean; rule?: Partial<RetentionRule> }): Promise<RetentionReport>
  close(): void
}

export interface ContinuityInput {
  config: Config
  /**
   * This node's SQLite database (gw.storage.local): the memory index is per node, like the memory files
   * it indexes. Shared state goes through `data`.
   */
  db: Database
  /** The store contract over the gateway's stores (`gw.data`): the turn path's reads and writes. */
  data: Store
  bus: Bus
  tools: ToolRegistry
  providers: () => Map<string, Provider>
  /** Creates a session the way the sessions service does (validation and the created event). */
  create: () => ContinueDeps["create"]
  /** The sessions service (built after this object, so read lazily). */
  sessions: () => Sessions
  /** The skills section of a session's system prompt (src/skills), or null. */
  skills?: (sessionId: string | null) => string | null
  /** This gateway's registry id and when a silent peer is gone, for the schedule runs left running at start. */
  owner?: SchedulerDeps["owner"]
}

export function createContinuity(input: ContinuityInput): Continuity {
  const { config } = input
  const log = Log.create("memory")
  const memory = createMemoryIndex({
    db: input.db,
    dir: config.memory.dir,
    rescanMs: config.memory.rescanSeconds * 1000,
    log,
  })
  try {
    memory.rescan()
  } catch (error) {
    log.warn("memory index could not be built at start; it is retried on the next search", { error: String(error) })
  }
  const notes = createNotes(config.memory.dir, config.context.timeZone, boundaryOf(config))
  for (const tool of memoryTools({ index: memory, notes })) if (!input.tools.get(tool.name)) input.tools.register(tool)
  const context = createContextBuilder({
    config: () => config.context,
    systemFile: config.prompts.system,
    workspace: config.workspaceDir,
    memoryDir: config.memory.dir ?? join(config.workspaceDir, "memory"),
    tools: () => input.tools.list().map((tool) => tool.name),
    skills: input.skills,
  })
  const window = createHistoryWindow({
    data: input.data,
    bus: input.bus,
    config: () => config.context,
    log: Log.create("context"),
  })
  const preview = async (sessionId: string | null, provider: string): Promise<PromptPreview> => {
    const system = context.system(sessionId)
    const tools = input.tools.specs()
    const history = sessionId
      ? await window.preview(sessionId, system.text, tools)
      : { history: [], tokens: 0, budget: window.budgetFor(system.text, tools), summaryUpto: null }
    return {
      sessionId,
      provider,
      system,
      tools,
      toolTokens: estimate(JSON.stringify(tools)),
      history: history.history,
      historyTokens: history.tokens,
      budget: history.budget,
      windowTokens: config.context.windowTokens,
      summaryUpto: history.summaryUpto,
    }
  }
  const startNew = async (
    fromId: string | null,
    options: { channel?: string; channelKey?: string } = {},
  ): Promise<Continued> => {
    const result = await continueSession(
      {
        data: input.data,
        provider: (id) => input.providers().get(id),
        create: (args) => input.create()(args),
        summaryTokens: () => config.context.summaryTokens,
      },
      fromId,
      options,
    )
    if (result.from)
      input.bus.publish(ContinuityEvent.Continued, {
        sessionId: result.session.id,
        from: result.from.id,
        channel: result.session.channel,
        source: result.source,
      })
    return result
  }
  const deliveries = createDeliveries()
  const schedules = createScheduler({
    store: input.data.schedules,
    bus: input.bus,
    sessions: {
      prompt: (args) => input.sessions().prompt(args),
      create: (args) => input.sessions().create(args),
      get: (id) => input.sessions().get(id),
    },
    schedules: () => config.schedules,
    timeZone: () => config.timeZone,
    deliver: deliveries.deliver,
    log: Log.create("schedule"),
    owner: input.owner,
  })
  const ownerZone = () => config.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone
  const scheduleBook = createScheduleBook({
    store: input.data.schedules,
    scheduler: schedules,
    config: () => config.schedules,
    session: (id) => input.data.sessions.require(id),
    locate: (session) => deliveries.locate(session),
    channels: deliveries.names,
    timeZone: () => config.timeZone,
  })
  for (const tool of scheduleTools({
    create: (args, origin, from) => scheduleBook.create(args, origin, from),
    list: () => scheduleBook.list(),
    remove: (id) => scheduleBook.remove(id),
    timeZone: ownerZone,
  }))
    if (!input.tools.get(tool.name)) input.tools.register(tool)
  const heartbeat = createHeartbeat({
    kv: input.data.sessions.kv,
    bus: input.bus,
    sessions: {
      prompt: (args) => input.sessions().prompt(args),
      create: (args) => input.sessions().create(args),
      get: (id) => input.sessions().get(id),
      runningTurn: (id) => input.sessions().runningTurn(id),
    },
    config: () => config.heartbeat,
    timeZone: () => config.timeZone,
    workspace: config.workspaceDir,
    deliver: deliveries.deliver,
    // The owner's most recently active chat a channel can reach.
    lastChat: async () => {
      for (const session of await input.data.sessions.list({ limit: 50 })) {
        const target = deliveries.locate(session)
        if (target) return target
      }
      return null
    },
    log: Log.create("heartbeat"),
  })
  const portable = input.data.portable
  const busy = (id: string) =>
    input
      .sessions()
      .queues()
      .some((queue) => queue.sessionId === id) || input.sessions().runningTurn(id) !== null
  const retention = async (options: { dryRun: boolean; rule?: Partial<RetentionRule> }): Promise<RetentionReport> => {
    const { intervalMinutes: _, ...configured } = config.retention
    const rule = {
      ...configured,
      ...Object.fromEntries(Object.entries(options.rule ?? {}).filter(([, value]) => value !== undefined)),
    } as RetentionRule
    const report = await applyRetention(
      {
        portable,
        remove: (id) => input.sessions().remove(id),
        busy,
        // Another gateway's turns are in the store only.
        open: async (id) =>
          (await input.data.sessions.turns(id, 1)).some(
            (turn) => turn.status === "queued" || turn.status === "running",
          ),
        archiveDir: join(config.stateDir, "archive"),
      },
      rule,
      options.dryRun,
    )
    input.bus.publish(ContinuityEvent.RetentionApplied, {
      action: report.action,
      sessions: report.sessions.length,
      bytes: report.bytes,
      dryRun: report.dryRun,
    })
    return report
  }
  // Automatic retention, when configured with an interval and at least one limit.
  const { maxAgeDays, maxSessions, maxBytes, intervalMinutes } = config.retention
  const auto =
    intervalMinutes > 0 && (maxAgeDays ?? maxSessions ?? maxBytes) !== undefined
      ? setInterval(() => {
          retention({ dryRun: false }).catch((error) => log.warn("retention run failed", { error: String(error) }))
        }, intervalMinutes * 60_000)
      : null
  auto?.unref?.()
  return {
    memory,
    notes,
    context,
    window,
    preview,
    startNew,
    deliveries,
    schedules,
    scheduleBook,
    heartbeat,
    portable,
    retention,
    close: () => {
      if (auto) clearInterval(auto)
      void schedules.stop()
      void heartbeat.stop()
      memory.close()
    },
  }
}
