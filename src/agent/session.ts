/**
 * The sessions service: the one entry point every channel uses to talk to the agent. It makes the
 * user's message durable before any provider is called, runs turns strictly one at a time per session
 * (others queue), applies a queued provider switch at the turn boundary, persists each step as it
 * completes, and publishes the turn's events. Every read and write goes through the store contract
 * (src/store/engine/contract.ts), so the same turn path runs on SQLite and on PostgreSQL.
 */
import { Busy, NotFound } from "../core/error.ts"
import type { Part } from "../core/message.ts"
import type { GenerationOptions, Provider } from "../core/provider.ts"
import type { Bus } from "../bus/bus.ts"
import type { Accept, SessionsContract } from "../store/engine/contract.ts"
import type { Session, Turn } from "../store/sessions.ts"
import type { ToolRegistry } from "../tool/registry.ts"
import type { Logger } from "../util/log.ts"
import { SessionEvent, ToolEvent, ProviderEvent, TurnEvent } from "./events.ts"
import { toChat } from "./history.ts"
import type { HistoryWindow } from "./window.ts"
import type { LanePolicy } from "../core/continuity-config.ts"
import { ContinuityEvent } from "./continuity-events.ts"
import { createLanes, DEFAULT_POLICY } from "./lanes.ts"
import type { ClientTools } from "./client-tools.ts"
import type { HeldLease, TurnLeases } from "./lease.ts"
import { type LoopLimits, type LoopOutcome, runLoop } from "./loop.ts"

/** How long a turn's end waits for its outcome event to come back through a linked bus. */
const OUTCOME_WAIT_MS = 2000

export interface SessionsDeps {
  /** The store contract's sessions (the gateway's `gw.data`). */
  data: { sessions: SessionsContract }
  bus: Bus
  tools: ToolRegistry
  providers: () => Map<string, Provider>
  defaultProvider: () => string
  /** The system prompt of a turn of `sessionId` (its skills may differ from another session's). */
  systemPrompt: (sessionId: string) => Promise<string>
  /** Fits the history to the provider's window (compaction); without it the whole history is sent. */
  window?: HistoryWindow
  /** What to do with a message that arrives while its session is busy, by source (orchestration). */
  lane?: (source: string) => LanePolicy
  limits: () => LoopLimits
  workspace: { root: string; tools: string; memory: string; prompts: string }
  log: Logger
  /** Runs at the start of every turn, before the tools are offered (workspace tool hot reload). */
  beforeTurn?: () => Promise<unknown>
  /**
   * Whether a turn may run (budgets, gateway/budgets.ts): null lets it run, a string is the reason it
   * ends failed instead. May wait (for an approval) until `signal` aborts.
   */
  admit?: (turn: { sessionId: string; turnId: string }, signal: AbortSignal) => Promise<string | null>
  /** The session's lease around each turn when gateways share the store (lease.ts); absent: none. */
  leases?: TurnLeases
}

export type TurnStatusFinal = "completed" | "failed" | "interrupted"

export interface TurnResult {
  turnId: string
  sessionId: string
  status: TurnStatusFinal
  reason: string | null
  text: string
}

export interface PromptInput {
  sessionId: string
  text: string
  images?: { mediaType: string; data: string }[]
  source?: string
  /** The client's generation settings for this turn only (OpenAI-compatible endpoint). */
  options?: GenerationOptions
  /** Tools the client runs itself, offered for this turn only (see client-tools.ts). */
  client?: ClientTools
  /** A tighter budget for this turn only (the heartbeat's maxSteps and maxToolCalls). */
  limits?: Partial<LoopLimits>
  /**
   * Inbox rows (a channel's update) marked handled in the transaction that stores the message; when one
   * was already handled (by another gateway, or before a restart), nothing is stored and prompt rejects
   * with AlreadyAccepted (store/engine/contract.ts).
   */
  accept?: Accept
}

export interface Accepted {
  turn: Turn
  messageId: string
  /** Resolves when the turn has ended, whatever the outcome. */
  done: Promise<TurnResult>
}

export type Sessions = ReturnType<typeof createSessions>

export function createSessions(deps: SessionsDeps) {
  const { bus, log } = deps
  const store = deps.data.sessions
  /** The turns collected into a running turn (its view includes their messages). */
  const collected = new Map<string, Turn[]>()
  const lanes = createLanes({
    async execute(turn, merged) {
      collected.set(turn.id, merged)
      const result = await execute(turn).finally(() => collected.delete(turn.id))
      // Collected messages were answered by this turn: their own turns end with its outcome.
      for (const each of merged) {
        const reason = `collected into ${turn.id}${result.reason ? `: ${result.reason}` : ""}`
        await store.finishTurn({
          id: each.id,
          sessionId: each.sessionId,
          status: result.status,
          error: reason,
          usage: { input: 0, output: 0, cached: 0 },
          steps: 0,
          toolCalls: 0,
          messages: 0,
        })
      }
      return result
    },
    running: (sessionId) => running.get(sessionId)?.turnId ?? null,
    stopping: () => stopping,
  })
  /** End a turn that will not run (dropped or superseded); its message stays stored. */
  const skip = async (turn: Turn, reason: string, merged: Turn[] = []): Promise<TurnResult> => {
    for (const each of [turn, ...merged]) {
      // Its end is reported all the same: a store that cannot write it now leaves it to recovery.
      await store
        .finishTurn({
          id: each.id,
          sessionId: each.sessionId,
          status: "failed",
          error: reason,
          usage: { input: 0, output: 0, cached: 0 },
          steps: 0,
          toolCalls: 0,
          messages: 0,
        })
        .catch((error) => log.warn("a skipped turn's end was not stored", { turnId: each.id, error: String(error) }))
      bus.publish(TurnEvent.Failed, { sessionId: each.sessionId, turnId: each.id, reason, durationMs: 0 })
      bus.publish(ContinuityEvent.Dropped, { sessionId: each.sessionId, turnId: each.id, reason })
    }
    return { turnId: turn.id, sessionId: turn.sessionId, status: "failed", reason, text: "" }
  }
  const running = new Map<string, { turnId: string; controller: AbortController }>()
  /** A turn's client options and tools, from prompt() until the turn starts (they are not stored). */
  const extras = new Map<string, Pick<PromptInput, "options" | "client" | "limits">>()
  const pending = new Set<Promise<TurnResult>>()
  /** Set once shutdown's grace period is over: queued turns end as interrupted instead of starting. */
  let closing: string | null = null
  let stopping = false
  /**
   * The last acceptance of each session still in flight: the next one is checked, stored and queued
   * after it, so the lanes see a session's messages in the order prompt() was called even when the
   * store answers out of order (PostgreSQL, several connections).
   */
  const accepting = new Map<string, Promise<unknown>>()

  const providerFor = async (session: Session): Promise<Provider> => {
    const all = deps.providers()
    const chosen =
      session.pendingProvider && all.has(session.pendingProvider) ? session.pendingProvider : session.provider
    if (chosen !== session.provider || session.pendingProvider) {
      await store.setProvider(session.id, chosen)
      if (chosen !== session.provider)
        bus.publish(SessionEvent.ProviderSwitched, { sessionId: session.id, from: session.provider, to: chosen })
    }
    const provider = all.get(chosen) ?? all.get(deps.defaultProvider())
    if (!provider) throw new NotFound("provider", chosen)
    return provider
  }

  async function execute(turn: Turn): Promise<TurnResult> {
    const started = performance.now()
    const ids = { sessionId: turn.sessionId, turnId: turn.id }
    const controller = new AbortController()
    const extra = extras.get(turn.id) ?? {}
    extras.delete(turn.id)
    let persisted = 0
    let lease: HeldLease | null = null
    running.set(turn.sessionId, { turnId: turn.id, controller })
    const finish = async (
      outcome: Pick<LoopOutcome, "text" | "usage" | "steps" | "toolCalls">,
      status: TurnStatusFinal,
      reason: string | null,
    ): Promise<TurnResult> => {
      running.delete(turn.sessionId)
      const durationMs = Math.round(performance.now() - started)
      const ended = await store.finishTurn({
        id: turn.id,
        sessionId: turn.sessionId,
        status,
        error: reason,
        usage: outcome.usage,
        steps: outcome.steps,
        toolCalls: outcome.toolCalls,
        messages: persisted,
      })
      // Ended first by a recovery (another gateway judged this one gone, its heartbeat late under load, and
      // took the session over): the stored end is what happened, so that is what the turn reports.
      if (!ended) {
        const stored = await store.turn(turn.id)
        if (stored && stored.status !== status && stored.status !== "queued" && stored.status !== "running") {
          log.warn("this turn had already been ended by a recovery; reporting that end", {
            turn: turn.id,
            status: stored.status,
          })
          status = stored.status as TurnStatusFinal
          reason = stored.error
        }
      }
      // After the turn's end is stored: the gateway that takes the lease next reads it.
      await lease?.release()
      // A linked bus (several gateways, src/bus/cluster.ts) delivers this node's events too once they come
      // back through the store: the turn resolves after its outcome event is delivered here, so whoever
      // streams the turn's events and stops at `done` (the Control API's and /v1's streams, the channels)
      // has had every delta and message before it. Bounded: a notice lost to a reconnect is not waited for.
      const outcomeDef =
        status === "completed"
          ? TurnEvent.Completed
          : status === "interrupted"
            ? TurnEvent.Interrupted
            : TurnEvent.Failed
      const delivered = bus.linked()
        ? bus.once(outcomeDef, (data) => data.turnId === turn.id, OUTCOME_WAIT_MS).catch(() => {})
        : null
      if (status === "completed")
        bus.publish(TurnEvent.Completed, {
          ...ids,
          text: outcome.text,
          usage: outcome.usage,
          steps: outcome.steps,
          toolCalls: outcome.toolCalls,
          durationMs,
        })
      else if (status === "interrupted") bus.publish(TurnEvent.Interrupted, { ...ids, reason: reason ?? "interrupted" })
      else bus.publish(TurnEvent.Failed, { ...ids, reason: reason ?? "failed", durationMs })
      await delivered
      return { ...ids, status, reason, text: outcome.text }
    }
    const empty = { text: "", usage: { input: 0, output: 0, cached: 0 }, steps: 0, toolCalls: 0 }
    if (closing) return finish(empty, "interrupted", closing)
    try {
      lease = (await deps.leases?.hold(turn.sessionId, controller.signal)) ?? null
    } catch (error) {
      // Aborted while another gateway held the session (a stop, the session deleted, an interrupt).
      if (controller.signal.aborted) return finish(empty, "interrupted", String(controller.signal.reason))
      return finish(empty, "failed", `the session's lease could not be taken: ${String(error)}`)
    }
    const held = lease
    held?.lost.addEventListener("abort", () => controller.abort(held.lost.reason), { once: true })
    try {
      const session = await store.require(turn.sessionId)
      const provider = await providerFor(session)
      await store.startTurn(turn.id, provider.id)
      bus.publish(TurnEvent.Started, { ...ids, provider: provider.id })
      // Budgets: a turn over a spending limit ends here, before any model call, with the reason.
      const refused = await deps.admit?.(ids, controller.signal)
      if (refused) return await finish(empty, "failed", refused)
      await deps.beforeTurn?.()
      const system = await deps.systemPrompt(turn.sessionId)
      // Over the window's budget, older messages are summarised first (the stored ones stay as they are).
      const history = deps.window
        ? (
            await deps.window.prepare({
              sessionId: turn.sessionId,
              provider,
              system,
              tools: deps.tools.specs(),
              signal: controller.signal,
              turn: { turnId: turn.id, merged: collected.get(turn.id)?.map((each) => each.id) },
            })
          ).history
        : toChat(await store.history(turn.sessionId))
      const outcome = await runLoop({
        provider,
        system,
        history,
        tools: deps.tools,
        limits: { ...deps.limits(), ...extra.limits },
        signal: controller.signal,
        sessionId: turn.sessionId,
        turnId: turn.id,
        workspace: deps.workspace,
        options: extra.options,
        client: extra.client,
        async persist(message) {
          const stored = await store.append({
            ...ids,
            role: message.role,
            parts: message.parts,
            provider: message.provider ?? provider.id,
            usage: message.usage ?? null,
          })
          persisted++
          bus.publish(SessionEvent.Message, { ...ids, messageId: stored.id, seq: stored.seq, role: stored.role })
        },
        emit(event) {
          const base = { ...ids, provider: provider.id, model: provider.model }
          switch (event.type) {
            case "delta":
              bus.publish(TurnEvent.Delta, { ...ids, text: event.text })
              break
            case "request":
              bus.publish(ProviderEvent.Request, { ...base, step: event.step, messages: event.messages })
              break
            case "response":
              bus.publish(ProviderEvent.Response, {
                ...base,
                provider: event.provider ?? base.provider,
                model: event.model ?? base.model,
                step: event.step,
                usage: event.usage,
                latencyMs: event.latencyMs,
                stop: event.stop,
              })
              break
            case "provider-error":
              bus.publish(ProviderEvent.Error, {
                ...base,
                provider: event.provider ?? base.provider,
                model: event.model ?? base.model,
                step: event.step,
                kind: event.kind,
                message: event.message,
                latencyMs: event.latencyMs,
              })
              break
            case "attempt":
              bus.publish(ProviderEvent.Attempt, {
                ...ids,
                provider: event.provider,
                model: event.model,
                step: event.step,
                attempt: event.attempt,
              })
              break
            case "attempt-failed": {
              const { type: _, ...failure } = event
              bus.publish(ProviderEvent.AttemptFailed, { ...ids, ...failure })
              break
            }
            case "discard":
              bus.publish(TurnEvent.Discard, { ...ids, step: event.step, chars: event.chars, reason: event.reason })
              break
            case "tool-start":
              bus.publish(ToolEvent.Started, {
                ...ids,
                callId: event.call.id,
                name: event.call.name,
                args: event.call.args,
              })
              break
            case "tool-end":
              bus.publish(ToolEvent.Completed, {
                ...ids,
                callId: event.call.id,
                name: event.call.name,
                isError: event.result.isError,
                output: event.result.output,
                durationMs: event.result.durationMs,
              })
              break
          }
        },
      })
      if (outcome.status === "aborted") {
        const reason = String(controller.signal.reason ?? outcome.reason ?? "aborted")
        return await finish(
          outcome,
          reason.startsWith("shutdown") || reason.startsWith("interrupted") ? "interrupted" : "failed",
          reason,
        )
      }
      return await finish(outcome, outcome.status, outcome.reason)
    } catch (error) {
      log.error("turn crashed", { turnId: turn.id, error: String(error) })
      return finish(empty, "failed", `internal error: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** Check, store and queue one message (prompt() runs these one after another per session). */
  async function accept(input: PromptInput): Promise<Accepted> {
    if (stopping) throw new Busy("the gateway is stopping; send the message again after it restarts")
    const parts: Part[] = [
      ...(input.text ? [{ type: "text" as const, text: input.text }] : []),
      ...(input.images ?? []).map((image) => ({ type: "image" as const, ...image })),
    ]
    const source = input.source ?? "api"
    const policy = deps.lane?.(source) ?? DEFAULT_POLICY
    // A full queue refuses before anything is stored; the other drop policies store the message first.
    if (policy.mode !== "collect" || !lanes.openBatch(input.sessionId)) {
      const waiting = lanes.waiting(input.sessionId).length
      if (policy.drop === "reject" && waiting >= policy.maxQueue)
        throw new Busy(
          `this session already has ${waiting} turns waiting (orchestration.maxQueue ${policy.maxQueue}); send it again when they are done`,
        )
    }
    const { turn, message } = await store.beginTurn({
      sessionId: input.sessionId,
      parts,
      source,
      ...(input.accept ? { accept: input.accept } : {}),
    })
    // Read after the write: while it was under way the lane may have started the batch it would have joined.
    const waiting = lanes.waiting(input.sessionId)
    const batch = policy.mode === "collect" ? lanes.openBatch(input.sessionId) : null
    if (input.options || input.client || input.limits)
      extras.set(turn.id, { options: input.options, client: input.client, limits: input.limits })
    bus.publish(SessionEvent.Message, {
      sessionId: turn.sessionId,
      turnId: turn.id,
      messageId: message.id,
      seq: message.seq,
      role: "user",
    })
    bus.publish(TurnEvent.Queued, { sessionId: turn.sessionId, turnId: turn.id, messageId: message.id, source })
    const accepted = (done: Promise<TurnResult>): Accepted => {
      pending.add(done)
      // A turn that ends without running (dropped, superseded, collected) leaves no extras behind.
      done.finally(() => {
        pending.delete(done)
        extras.delete(turn.id)
      })
      return { turn, messageId: message.id, done }
    }
    if (batch) {
      // collect: this message joins the waiting batch; the batch's answer is this message's answer.
      batch.merged.push(turn)
      batch.lastAt = Date.now()
      return accepted(batch.done)
    }
    if (waiting.length >= policy.maxQueue) {
      if (policy.drop === "newest")
        return accepted(skip(turn, "dropped: the session's queue is full (orchestration.drop newest)"))
      const oldest = waiting[0]!
      lanes.remove(oldest)
      void skip(
        oldest.turn,
        "dropped: the session's queue is full and a newer message arrived (orchestration.drop oldest)",
        oldest.merged,
      ).then(oldest.settle)
    }
    if (policy.mode === "interrupt") {
      // Everything older gives way: the new turn sees those messages in its history anyway.
      for (const older of lanes.waiting(input.sessionId)) {
        lanes.remove(older)
        void skip(older.turn, "superseded: a newer message interrupted this session", older.merged).then(older.settle)
      }
      running.get(input.sessionId)?.controller.abort("interrupted: a newer message arrived")
    }
    return accepted(lanes.add(turn, policy).done)
  }

  return {
    async create(
      input: {
        title?: string
        provider?: string
        channel?: string
        channelKey?: string
        metadata?: Record<string, unknown>
      } = {},
    ): Promise<Session> {
      const provider = input.provider ?? deps.defaultProvider()
      if (!deps.providers().has(provider)) throw new NotFound("provider", provider)
      const session = await store.create({ ...input, provider })
      bus.publish(SessionEvent.Created, { sessionId: session.id, provider, channel: session.channel })
      return session
    },
    get: (id: string): Promise<Session> => store.require(id),
    list: (options?: Parameters<SessionsContract["list"]>[0]): Promise<Session[]> => store.list(options),
    async remove(id: string): Promise<void> {
      running.get(id)?.controller.abort("session deleted")
      await store.remove(id)
      bus.publish(SessionEvent.Deleted, { sessionId: id })
    },
    /**
     * Queue a provider switch for the next turn boundary (persisted). An unknown provider throws at
     * once, before the returned write (so a caller that does not await still gets the refusal).
     */
    switchProvider(id: string, provider: string): Promise<void> {
      if (!deps.providers().has(provider)) throw new NotFound("provider", provider)
      return store.setPendingProvider(id, provider)
    },

    /**
     * Accept a user message: durable when this resolves, run after the session's earlier turns. Calls
     * for one session are accepted in call order, awaited or not.
     */
    prompt(input: PromptInput): Promise<Accepted> {
      const before = accepting.get(input.sessionId)
      const accepted = before
        ? before.then(
            () => accept(input),
            () => accept(input),
          )
        : accept(input)
      accepting.set(input.sessionId, accepted)
      const clear = () => {
        if (accepting.get(input.sessionId) === accepted) accepting.delete(input.sessionId)
      }
      accepted.then(clear, clear)
      return accepted
    },
    /** Sessions with a running or waiting turn (for status). */
    queues: () => lanes.snapshot(),

    abort(sessionId: string, reason = "aborted by user"): boolean {
      const active = running.get(sessionId)
      if (!active) return false
      active.controller.abort(reason)
      return true
    },
    runningTurn: (sessionId: string) => running.get(sessionId)?.turnId ?? null,
    activeCount: () => running.size,

    /** Let running turns finish for up to `graceMs`, then abort them as interrupted. */
    async drain(graceMs: number): Promise<void> {
      stopping = true
      if (pending.size === 0) return
      const all = Promise.allSettled([...pending])
      const timer = setTimeout(() => {
        closing = "shutdown: the gateway stopped before the turn finished"
        for (const active of running.values())
          active.controller.abort("shutdown: the gateway stopped before the turn finished")
      }, graceMs)
      await all
      clearTimeout(timer)
      // Turns queued behind an aborted one ran (and were aborted) in turn; nothing is left open.
    },
  }
}
