/**
 * `/new` with continuity: a fresh session whose history starts with a summary of the previous one
 * (objective, decisions, open threads), written by the previous session's provider or, when that fails,
 * the deterministic digest. The old session is kept as it is; the summary is stored on the new one, so
 * it survives restarts and is the first thing every later turn reads.
 */
import type { Provider } from "../core/provider.ts"
import type { Session, SessionStore } from "../store/sessions.ts"
import type { SummaryStore } from "../store/summaries.ts"
import { afterSummary } from "./compact.ts"
import { summarise } from "./summarise.ts"

export interface ContinueDeps {
  store: SessionStore
  summaries: SummaryStore
  provider(id: string): Provider | undefined
  create(input: {
    provider?: string
    channel?: string
    channelKey?: string
    metadata?: Record<string, unknown>
  }): Session
  summaryTokens: () => number
}

export interface Continued {
  session: Session
  from: Session | null
  /** `model`, `fallback`, or `none` when the previous session had no messages. */
  source: "model" | "fallback" | "none"
}

export async function continueSession(
  deps: ContinueDeps,
  fromId: string | null,
  input: { channel?: string; channelKey?: string } = {},
): Promise<Continued> {
  const from = fromId ? deps.store.get(fromId) : null
  const session = deps.create({
    provider: from?.provider,
    channel: input.channel ?? from?.channel ?? undefined,
    channelKey: input.channelKey ?? from?.channelKey ?? undefined,
    metadata: from ? { continuedFrom: from.id } : {},
  })
  if (!from) return { session, from: null, source: "none" }
  const previous = deps.summaries.latest(from.id)
  const messages = afterSummary(deps.store.history(from.id), previous)
  if (messages.length === 0 && !previous) return { session, from, source: "none" }
  const provider = deps.provider(from.provider)
  const result = provider
    ? await summarise({
        provider,
        purpose: "continuity",
        previous: previous?.text ?? null,
        messages,
        sessionId: from.id,
        maxTokens: deps.summaryTokens(),
        timeoutMs: 45_000,
      })
    : await summarise({
        provider: unavailable(from.provider),
        purpose: "continuity",
        previous: previous?.text ?? null,
        messages,
        sessionId: from.id,
        maxTokens: 0,
      })
  // uptoSeq 0: the summary comes before every message of the new session.
  deps.summaries.add({
    sessionId: session.id,
    uptoSeq: 0,
    text: `This session continues session ${from.id}.\n\n${result.text}`,
    source: "continuity",
  })
  return { session, from, source: result.source }
}

/** A provider that always fails, so a session whose provider is gone still gets the digest. */
function unavailable(id: string): Provider {
  return {
    id,
    kind: "unavailable",
    model: "none",
    async *stream() {
      yield { type: "error", kind: "unavailable", message: `provider ${id} is not configured` }
    },
  }
}
