/**
 * `/new` with continuity: a fresh session whose history starts with a summary of the previous one
 * (objective, decisions, open threads), written by the previous session's provider or, when that fails,
 * the deterministic digest. The old session is kept as it is; the summary is stored on the new one, so
 * it survives restarts and is the first thing every later turn reads.
 */
import type { Provider } from "../core/provider.ts"
import type { SessionsContract, SummariesContract } from "../store/engine/contract.ts"
import type { Session } from "../store/sessions.ts"
import { afterSummary } from "./compact.ts"
import { summarise } from "./summarise.ts"

export interface ContinueDeps {
  /** The store contract's sessions and summaries (the gateway's `gw.data`). */
  data: { sessions: Pick<SessionsContract, "get" | "history">; summaries: Pick<SummariesContract, "latest" | "add"> }
  provider(id: string): Provider | undefined
  create(input: {
    provider?: string
    channel?: string
    channelKey?: string
    metadata?: Record<string, unknown>
  }): Promise<Session>
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
  const from = fromId ? await deps.data.sessions.get(fromId) : null
  const session = await deps.create({
    provider: from?.provider,
    channel: input.channel ?? from?.channel ?? undefined,
    channelKey: input.channelKey ?? from?.channelKey ?? undefined,
    metadata: from ? { continuedFrom: from.id } : {},
  })
  if (!from) return { session, from: null, source: "none" }
  const previous = await deps.data.summaries.latest(from.id)
  const messages = afterSummary(await deps.data.sessions.history(from.id), previous)
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
  await deps.data.summaries.add({
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
