/**
 * Shared setup for the approval tests: a real gateway (child process) whose model is the loopback fake
 * OpenAI server, a collector of the gateway's approval events over SSE, and a reader of the approvals
 * journal in the state folder.
 */
import { existsSync, readFileSync } from "node:fs"
import { type FakeOpenAI, fakeOpenAI } from "../fake/openai.ts"
import type { RunningGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import type { Workspace } from "../lib/workspace.ts"

export const READ_TOKEN = "read-token-for-approval-tests"

export async function model(): Promise<{ llm: FakeOpenAI; profile: Record<string, unknown> }> {
  const llm = await fakeOpenAI({ key: null })
  process.env.DROST_FAKE_KEY = "test-key"
  const profile = {
    id: "llm",
    kind: "openai-compatible",
    baseUrl: llm.baseUrl,
    apiKeyEnv: "DROST_FAKE_KEY",
    model: "local-model",
  }
  return { llm, profile }
}

export function approvalConfig(profile: Record<string, unknown>, tools: Record<string, unknown> = {}) {
  return {
    providers: { profiles: [profile] },
    controlApi: { port: 0, readToken: READ_TOKEN },
    tools: { approve: ["shell"], ...tools },
  }
}

export interface Envelope {
  id: number
  type: string
  data: Record<string, unknown>
}

/**
 * Every `approval.*` event of the gateway, read over GET /control/v1/events. `since=0` replays the
 * whole buffer first, so nothing published before the stream was open is missed.
 */
export function approvalEvents(gw: RunningGateway) {
  const seen: Envelope[] = []
  const waiters = new Set<() => void>()
  const abort = new AbortController()
  void (async () => {
    const response = await gw.api("/events?type=approval.*&since=0", { signal: abort.signal })
    try {
      for await (const event of readSse(response)) {
        if (!event.event.startsWith("approval.")) continue
        seen.push(event.data as Envelope)
        for (const wake of [...waiters]) wake()
      }
    } catch {
      // aborted at the end of the test
    }
  })()
  return {
    seen,
    /** The first event of `type` matching `predicate` (already seen, or the next to arrive). */
    async next(type: string, predicate: (data: Record<string, unknown>) => boolean = () => true, timeoutMs = 10_000) {
      const find = () => seen.find((event) => event.type === type && predicate(event.data))
      const found = find()
      if (found) return found.data
      return await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no ${type} event within ${timeoutMs} ms; seen: ${JSON.stringify(seen)}`))
        }, timeoutMs)
        const check = () => {
          const event = find()
          if (!event) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(event.data)
        }
        waiters.add(check)
      })
    },
    close: () => abort.abort(),
  }
}

export type JournalLine = { type: "requested" | "decided" } & Record<string, unknown>

export function journal(ws: Workspace): JournalLine[] {
  const file = ws.file(".drost/approvals.jsonl")
  if (!existsSync(file)) return []
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JournalLine)
}

/** The tool result the model was sent in its follow-up request (chat completions wire). */
export function toolResultSent(llm: FakeOpenAI, hit: number): string {
  const body = llm.hits[hit]?.body as { messages?: { role: string; content: unknown }[] } | undefined
  const message = body?.messages?.findLast((entry) => entry.role === "tool")
  if (!message) throw new Error(`model call ${hit} carried no tool result: ${JSON.stringify(body).slice(0, 400)}`)
  return typeof message.content === "string" ? message.content : JSON.stringify(message.content)
}
