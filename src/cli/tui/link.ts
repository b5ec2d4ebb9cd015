/**
 * The dashboard's line to a running gateway: the Control API's JSON calls and its two event streams
 * (the whole bus on /control/v1/events, one turn on POST /sessions/:id/turn), nothing else. The
 * dashboard keeps no state of its own beyond what these answer.
 */
import type { Decided, Pending } from "../../approval/approval.ts"

export interface SessionRow {
  id: string
  title: string
  updatedAt: number
  messageCount: number
  provider: string
  channel: string | null
  usage: { input: number; output: number; cached: number }
}

export interface MessageRow {
  seq: number
  role: string
  parts: { type: string; text?: string; name?: string }[]
}

export interface StreamEvent {
  event: string
  data: Record<string, unknown>
}

export class LinkError extends Error {}

/** Parses a text/event-stream body into events (named, JSON data; comments skipped). */
export async function* sse(response: Response): AsyncGenerator<StreamEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      let event = "message"
      const data: string[] = []
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
      }
      if (data.length === 0) continue
      try {
        yield { event, data: JSON.parse(data.join("\n")) as Record<string, unknown> }
      } catch {
        yield { event, data: { text: data.join("\n") } }
      }
    }
  }
}

export function link(url: string, token: string) {
  const headers = (json: boolean) => ({
    authorization: `Bearer ${token}`,
    ...(json ? { "content-type": "application/json" } : {}),
  })
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/control/v1${path}`, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((error: Error) => {
      throw new LinkError(
        `no gateway answers at ${url} (${error.message}); start one with \`drost start\` or \`drost service install\``,
      )
    })
    const payload = (await response.json().catch(() => ({}))) as T & { message?: string }
    if (!response.ok) throw new LinkError(`${method} ${path}: ${response.status} ${payload.message ?? ""}`.trim())
    return payload
  }
  return {
    url,
    sessions: async () => (await call<{ sessions: SessionRow[] }>("GET", "/sessions?limit=100")).sessions,
    session: (id: string) =>
      call<{ session: SessionRow; messages: MessageRow[] }>("GET", `/sessions/${encodeURIComponent(id)}?limit=40`),
    create: (title: string) => call<SessionRow>("POST", "/sessions", { title }),
    status: () =>
      call<{
        state: string
        runningTurns: number
        queues: { sessionId: string; running: boolean; waiting: number }[]
      }>("GET", "/status"),
    providers: async () =>
      (await call<{ providers: { id: string; costUsd?: number | null }[] }>("GET", "/providers")).providers,
    approvals: async () => (await call<{ approvals: Pending[] }>("GET", "/approvals")).approvals,
    decide: (id: string, decision: "approve" | "deny") =>
      call<Decided>("POST", `/approvals/${encodeURIComponent(id)}`, { decision }),
    abort: (id: string) => call<unknown>("POST", `/sessions/${encodeURIComponent(id)}/abort`),
    command: (line: string, sessionId: string, width: number) =>
      call<{ text: string; quit: boolean; sessionId: string | null }>("POST", "/commands", {
        line,
        sessionId,
        channel: "terminal",
        width,
      }),
    /** One turn, streamed: the gateway's turn events as they happen. */
    async *turn(sessionId: string, input: string, signal: AbortSignal): AsyncGenerator<StreamEvent> {
      const response = await fetch(`${url}/control/v1/sessions/${encodeURIComponent(sessionId)}/turn`, {
        method: "POST",
        headers: { ...headers(true), accept: "text/event-stream" },
        body: JSON.stringify({ input }),
        signal,
      })
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { message?: string }
        throw new LinkError(`${response.status}: ${body.message ?? "the gateway refused the turn"}`)
      }
      yield* sse(response)
    },
    /**
     * The bus, for as long as `signal` is not aborted: reconnects after a gateway restart, resuming
     * after the last event seen (Last-Event-ID), so the log misses nothing that is still buffered.
     */
    async watch(signal: AbortSignal, on: (event: StreamEvent) => void, opened: () => void): Promise<void> {
      let since: number | null = null
      while (!signal.aborted) {
        try {
          const response: Response = await fetch(`${url}/control/v1/events`, {
            headers: {
              ...headers(false),
              accept: "text/event-stream",
              ...(since === null ? {} : { "last-event-id": String(since) }),
            },
            signal,
          })
          if (response.ok) {
            opened()
            for await (const event of sse(response) as AsyncGenerator<StreamEvent>) {
              if (typeof event.data.id === "number") since = event.data.id
              on(event)
            }
          }
        } catch {
          // gateway gone (restarting): try again below
        }
        if (!signal.aborted) await Bun.sleep(1000)
      }
    },
  }
}

export type Link = ReturnType<typeof link>
