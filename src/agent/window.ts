/**
 * The history a turn sends, fitted to the provider's window: the budget is the window minus the answer
 * reserve, the system prompt and the tool definitions. When the view is over it, older messages are
 * summarised by the session's provider (or the deterministic fallback) and the summary is stored; the
 * messages themselves are never touched.
 */
import type { Bus } from "../bus/bus.ts"
import type { ContextConfig } from "../core/continuity-config.ts"
import type { ChatMessage } from "../core/message.ts"
import type { Provider, ToolSpec } from "../core/provider.ts"
import type { SessionsContract, SummariesContract } from "../store/engine/contract.ts"
import type { Logger } from "../util/log.ts"
import { afterSummary, cutIndex, fit, view, viewTokens } from "./compact.ts"
import type { CurrentTurn } from "./order.ts"
import { ContinuityEvent } from "./continuity-events.ts"
import { summarise } from "./summarise.ts"
import { estimate } from "./tokens.ts"

export interface WindowDeps {
  /** The store contract's sessions and summaries (the gateway's `gw.data`). */
  data: { sessions: Pick<SessionsContract, "history">; summaries: Pick<SummariesContract, "latest" | "add"> }
  bus: Bus
  config: () => ContextConfig
  log: Logger
}

export interface HistoryView {
  history: ChatMessage[]
  tokens: number
  budget: number
  /** Seq of the last message the summary in the view covers, if any. */
  summaryUpto: number | null
}

export type HistoryWindow = ReturnType<typeof createHistoryWindow>

export function createHistoryWindow(deps: WindowDeps) {
  // The JSON length of each tool's spec, kept per schema object: serialising every tool definition on
  // every turn was a measurable share of a turn's cost. Same figure as JSON.stringify(tools).length.
  const specLength = new WeakMap<object, { name: string; description: string; length: number }>()
  const toolsLength = (tools: ToolSpec[]) => {
    let length = tools.length > 0 ? 1 + tools.length : 2
    for (const tool of tools) {
      const key = tool.parameters as object
      const hit = typeof key === "object" && key !== null ? specLength.get(key) : undefined
      if (hit && hit.name === tool.name && hit.description === tool.description) {
        length += hit.length
        continue
      }
      const own = JSON.stringify(tool).length
      if (typeof key === "object" && key !== null)
        specLength.set(key, { name: tool.name, description: tool.description, length: own })
      length += own
    }
    return length
  }
  const budgetFor = (system: string, tools: ToolSpec[]) => {
    const config = deps.config()
    const fixed = estimate(system) + Math.ceil(toolsLength(tools) / 4)
    return Math.max(500, config.windowTokens - config.reserveTokens - fixed)
  }

  const current = async (sessionId: string, budget: number, turn?: CurrentTurn): Promise<HistoryView> => {
    const summary = await deps.data.summaries.latest(sessionId)
    const history = fit(view(await deps.data.sessions.history(sessionId), summary, turn), budget)
    return { history, tokens: viewTokens(history), budget, summaryUpto: summary?.uptoSeq ?? null }
  }

  return {
    budgetFor,
    /** The view as it stands, without compacting (for `drost prompt show`). */
    preview: (sessionId: string, system: string, tools: ToolSpec[]) => current(sessionId, budgetFor(system, tools)),

    /** The view for the next model call, compacting first when it is over budget. */
    async prepare(input: {
      sessionId: string
      provider: Provider
      system: string
      tools: ToolSpec[]
      signal?: AbortSignal
      /** The turn about to run: later turns' messages stay out of its view. */
      turn?: CurrentTurn
    }): Promise<HistoryView> {
      const budget = budgetFor(input.system, input.tools)
      // Both reads at once: on PostgreSQL each is a round trip, and neither needs the other.
      const [messages, summary] = await Promise.all([
        deps.data.sessions.history(input.sessionId),
        deps.data.summaries.latest(input.sessionId),
      ])
      const seen = view(messages, summary, input.turn)
      const before = viewTokens(seen)
      // Within budget (the usual case): the view just built is the answer; no second read of the history.
      if (before <= budget) return { history: seen, tokens: before, budget, summaryUpto: summary?.uptoSeq ?? null }
      const rest = afterSummary(messages, summary, input.turn)
      const config = deps.config()
      const cut = cutIndex(rest, Math.min(config.keepRecentTokens, Math.floor(budget / 2)))
      if (cut === null) return current(input.sessionId, budget, input.turn)
      const covered = rest.slice(0, cut)
      const result = await summarise({
        provider: input.provider,
        purpose: "compaction",
        previous: summary?.text ?? null,
        messages: covered,
        sessionId: input.sessionId,
        maxTokens: config.summaryTokens,
        signal: input.signal,
      })
      if (result.source === "fallback")
        deps.log.warn("history summary fell back to the digest", { session: input.sessionId, reason: result.reason })
      const uptoSeq = covered.at(-1)!.seq
      await deps.data.summaries.add({ sessionId: input.sessionId, uptoSeq, text: result.text, source: result.source })
      const after = await current(input.sessionId, budget, input.turn)
      deps.bus.publish(ContinuityEvent.Compacted, {
        sessionId: input.sessionId,
        uptoSeq,
        summarised: covered.length,
        source: result.source,
        ...(result.reason ? { reason: result.reason } : {}),
        before,
        after: after.tokens,
        budget,
      })
      return after
    },
  }
}
