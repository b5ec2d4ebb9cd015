/**
 * Prometheus metrics of one gateway (GET /metrics, docs/operations.md). Counters and histograms are fed
 * by the bus events every part already publishes (turns, provider calls and attempts, tool calls,
 * approvals, jobs), so there is no second bookkeeping; gauges read the gateway's own state when
 * scraped (queues, running turns, SSE streams, component health, pending approvals, jobs, memory,
 * event-loop lag). Each gateway has its own registry: several gateways in one process (tests) do not
 * share counters, and nothing is registered globally.
 *
 * Label values are bounded: provider profile ids and tool names come from the config and the tool
 * registry, outcomes and kinds from fixed vocabularies; no session, turn or free text is a label.
 */
import type * as Prom from "prom-client"
import { ProviderEvent, ToolEvent, TurnEvent } from "../agent/events.ts"
import { JobEvent } from "../agent/job-events.ts"
import { ApprovalEvent } from "../approval/events.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { ToolsEvent } from "../tool/events.ts"
import { cost } from "../gateway/provider-hub.ts"

// The four classes from their own files: prom-client's index also loads its push gateway, the default
// process metrics, summaries (tdigest, bintrees) and an OpenTelemetry shim, none of them used here, and
// that was the largest share of a cold start's module loading (bench/startup.ts, CPU profile of a start).
const Counter = require("prom-client/lib/counter") as typeof Prom.Counter
const Gauge = require("prom-client/lib/gauge") as typeof Prom.Gauge
const Histogram = require("prom-client/lib/histogram") as typeof Prom.Histogram
const Registry = require("prom-client/lib/registry") as typeof Prom.Registry

export interface MetricsOptions {
  /** Open SSE streams of the Control API (api/events.ts `open`). */
  sseStreams?: () => number
}

/** Seconds; model calls and turns range from a fraction of a second to minutes. */
const SLOW = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
/** Seconds; most tool calls are fast, shells and fetches may take a while. */
const FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export function createMetrics(gw: Gateway, options: MetricsOptions = {}) {
  const registry = new Registry()
  const registers = [registry]

  const turns = new Counter({
    name: "drost_turns_total",
    help: "Turns that ended, by outcome (completed, failed, interrupted)",
    labelNames: ["outcome"],
    registers,
  })
  const turnSeconds = new Histogram({
    name: "drost_turn_duration_seconds",
    help: "Duration of ended turns (completed or failed) by the provider profile the turn started on",
    labelNames: ["provider", "outcome"],
    buckets: SLOW,
    registers,
  })
  const modelSeconds = new Histogram({
    name: "drost_model_call_duration_seconds",
    help: "Duration of model calls by the provider profile that answered or failed (outcome ok or failed)",
    labelNames: ["provider", "outcome"],
    buckets: SLOW,
    registers,
  })
  const tokens = new Counter({
    name: "drost_tokens_total",
    help: "Tokens of answered model calls by provider profile and kind (input, output, cached)",
    labelNames: ["provider", "kind"],
    registers,
  })
  const spent = new Counter({
    name: "drost_cost_usd_total",
    help: "Cost of answered model calls at the profile's prices (USD); profiles without prices are absent",
    labelNames: ["provider"],
    registers,
  })
  const modelErrors = new Counter({
    name: "drost_model_errors_total",
    help: "Model steps that failed after every candidate was tried, by provider profile and error kind",
    labelNames: ["provider", "kind"],
    registers,
  })
  const attempts = new Counter({
    name: "drost_provider_attempts_total",
    help: "Attempts of a provider profile to serve a step (provider.attempt)",
    labelNames: ["provider"],
    registers,
  })
  const attemptFailures = new Counter({
    name: "drost_provider_attempt_failures_total",
    help: "Failed attempts by provider profile and failure kind (provider.attempt.failed)",
    labelNames: ["provider", "kind"],
    registers,
  })
  const retries = new Counter({
    name: "drost_provider_retries_total",
    help: "Failed attempts after which the same profile is tried again (failover.retry)",
    labelNames: ["provider"],
    registers,
  })
  const failovers = new Counter({
    name: "drost_failovers_total",
    help: "Steps that moved from a failed profile to another one",
    labelNames: ["from", "to"],
    registers,
  })
  const toolCalls = new Counter({
    name: "drost_tool_calls_total",
    help: "Tool calls that ended, by tool and outcome (ok, error)",
    labelNames: ["tool", "outcome"],
    registers,
  })
  const toolSeconds = new Histogram({
    name: "drost_tool_call_duration_seconds",
    help: "Duration of tool calls by tool and outcome",
    labelNames: ["tool", "outcome"],
    buckets: FAST,
    registers,
  })
  const toolDenied = new Counter({
    name: "drost_tool_calls_denied_total",
    help: "Tool calls refused before they ran (policy or a person), by tool",
    labelNames: ["tool"],
    registers,
  })
  const approvalsDecided = new Counter({
    name: "drost_approvals_decided_total",
    help: "Approvals that ended, by decision (approve, deny, session, timeout, aborted, restart)",
    labelNames: ["decision"],
    registers,
  })
  const jobsEnded = new Counter({
    name: "drost_jobs_ended_total",
    help: "Background jobs that ended, by kind (agent, shell) and status",
    labelNames: ["kind", "status"],
    registers,
  })

  /** A turn's starting profile (for its duration's label) until it ends. */
  const started = new Map<string, string>()
  /** The profile whose attempt last failed in a turn's step, until the next attempt of that step. */
  const failed = new Map<string, string>()
  const forget = (turnId: string) => {
    started.delete(turnId)
    for (const key of failed.keys()) if (key.startsWith(`${turnId}:`)) failed.delete(key)
  }
  const profiles = () => gw.config.providers.profiles
  const bus = gw.bus
  const stops = [
    bus.subscribe(TurnEvent.Started, ({ data }) => started.set(data.turnId, data.provider)),
    bus.subscribe(TurnEvent.Completed, ({ data }) => {
      turns.inc({ outcome: "completed" })
      const provider = started.get(data.turnId) ?? "unknown"
      turnSeconds.observe({ provider, outcome: "completed" }, data.durationMs / 1000)
      forget(data.turnId)
    }),
    bus.subscribe(TurnEvent.Failed, ({ data }) => {
      turns.inc({ outcome: "failed" })
      // A turn refused or dropped before it started has no provider and took no time: no duration.
      const provider = started.get(data.turnId)
      if (provider) turnSeconds.observe({ provider, outcome: "failed" }, data.durationMs / 1000)
      forget(data.turnId)
    }),
    bus.subscribe(TurnEvent.Interrupted, ({ data }) => {
      turns.inc({ outcome: "interrupted" })
      forget(data.turnId)
    }),
    bus.subscribe(ProviderEvent.Response, ({ data }) => {
      modelSeconds.observe({ provider: data.provider, outcome: "ok" }, data.latencyMs / 1000)
      const fresh = Math.max(0, data.usage.input - data.usage.cached)
      tokens.inc({ provider: data.provider, kind: "input" }, fresh)
      tokens.inc({ provider: data.provider, kind: "cached" }, data.usage.cached)
      tokens.inc({ provider: data.provider, kind: "output" }, data.usage.output)
      const profile = profiles().find((each) => each.id === data.provider)
      const usd = profile ? cost(profile, data.usage) : null
      if (usd !== null) spent.inc({ provider: data.provider }, usd)
    }),
    bus.subscribe(ProviderEvent.Error, ({ data }) => modelErrors.inc({ provider: data.provider, kind: data.kind })),
    bus.subscribe(ProviderEvent.Attempt, ({ data }) => {
      attempts.inc({ provider: data.provider })
      const key = `${data.turnId}:${data.step}`
      const from = failed.get(key)
      if (from !== undefined && from !== data.provider) failovers.inc({ from, to: data.provider })
      failed.delete(key)
    }),
    bus.subscribe(ProviderEvent.AttemptFailed, ({ data }) => {
      attemptFailures.inc({ provider: data.provider, kind: data.kind })
      modelSeconds.observe({ provider: data.provider, outcome: "failed" }, data.latencyMs / 1000)
      if (data.retryInMs !== undefined) retries.inc({ provider: data.provider })
      failed.set(`${data.turnId}:${data.step}`, data.provider)
    }),
    bus.subscribe(ToolEvent.Completed, ({ data }) => {
      const labels = { tool: data.name, outcome: data.isError ? "error" : "ok" }
      toolCalls.inc(labels)
      toolSeconds.observe(labels, data.durationMs / 1000)
    }),
    bus.subscribe(ToolsEvent.Denied, ({ data }) => toolDenied.inc({ tool: data.name })),
    bus.subscribe(ApprovalEvent.Decided, ({ data }) => approvalsDecided.inc({ decision: data.decision })),
    bus.subscribe(JobEvent.Ended, ({ data }) => jobsEnded.inc({ kind: data.kind, status: data.status })),
  ]
  // Gauges: read when scraped.
  new Gauge({
    name: "drost_turns_running",
    help: "Turns running now",
    registers,
    collect() {
      this.set(gw.sessions.activeCount())
    },
  })
  new Gauge({
    name: "drost_queue_depth",
    help: "Turns waiting behind a running turn, over all sessions",
    registers,
    collect() {
      this.set(gw.sessions.queues().reduce((sum, lane) => sum + lane.waiting, 0))
    },
  })
  new Gauge({
    name: "drost_sse_subscribers",
    help: "Open server-sent event streams of the Control API",
    registers,
    collect() {
      this.set(options.sseStreams?.() ?? 0)
    },
  })
  new Gauge({
    name: "drost_approvals_waiting",
    help: "Tool calls (and over-budget turns) waiting for a person",
    registers,
    collect() {
      this.set(gw.approvals.list().length)
    },
  })
  new Gauge({
    name: "drost_background_jobs",
    help: "Background jobs (subagents, shell processes) running now",
    registers,
    collect() {
      this.set(gw.jobs.counts().running)
    },
  })
  const states = ["starting", "running", "degraded", "stopping", "stopped"] as const
  new Gauge({
    name: "drost_gateway_state",
    help: "1 for the gateway's current state (running, degraded, …), 0 for the others",
    labelNames: ["state"],
    registers,
    collect() {
      const now = gw.state().state
      for (const state of states) this.set({ state }, state === now ? 1 : 0)
    },
  })
  new Gauge({
    name: "drost_component_unhealthy",
    help: "1 per component that reports a problem now (channels such as telegram, provider:<id>, store, mcp servers)",
    labelNames: ["component"],
    registers,
    collect() {
      this.reset()
      for (const reason of gw.state().reasons) this.set({ component: reason.slice(0, reason.indexOf(": ")) }, 1)
    },
  })
  new Gauge({
    name: "drost_channels",
    help: "Configured chat channels by kind, and whether they are healthy now (1) or report a problem (0)",
    labelNames: ["channel"],
    registers,
    collect() {
      this.reset()
      const unhealthy = new Set(gw.state().reasons.map((reason) => reason.slice(0, reason.indexOf(": "))))
      // Telegram's components are "telegram", "telegram#2", … in config order (channels/telegram/index.ts).
      const counts = new Map<string, number>()
      for (const channel of gw.config.channels ?? []) {
        const n = (counts.get(channel.kind) ?? 0) + 1
        counts.set(channel.kind, n)
        const name = n === 1 ? channel.kind : `${channel.kind}#${n}`
        this.set({ channel: name }, unhealthy.has(name) ? 0 : 1)
      }
    },
  })
  new Gauge({
    name: "drost_process_resident_memory_bytes",
    help: "Resident set size of the gateway process",
    registers,
    collect() {
      this.set(process.memoryUsage.rss())
    },
  })
  new Gauge({
    name: "drost_process_heap_used_bytes",
    help: "JavaScript heap in use",
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed)
    },
  })
  new Gauge({
    name: "drost_event_loop_lag_seconds",
    help: "How late a callback queued at scrape time ran (the event loop's current delay)",
    registers,
    async collect() {
      const queued = performance.now()
      await new Promise<void>((resolve) => setImmediate(resolve))
      this.set((performance.now() - queued) / 1000)
    },
  })
  new Gauge({
    name: "drost_uptime_seconds",
    help: "Seconds since the gateway started",
    registers,
    collect() {
      this.set((Date.now() - gw.startedAt) / 1000)
    },
  })

  return {
    contentType: registry.contentType,
    /** The exposition text (Prometheus text format 0.0.4). */
    text: () => registry.metrics(),
    /** Stop counting (the bus outlives this when the API restarts in place). */
    stop() {
      for (const stop of stops) stop()
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
