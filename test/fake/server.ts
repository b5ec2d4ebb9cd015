/**
 * The HTTP core the fake LLM servers share: a loopback Bun.serve on port 0, the request log (`hits`),
 * the reply queue, waiting without sleeps, and the streaming faults (hang, stall, reset, malformed)
 * rendered the same way for every wire format.
 */
import type { Server } from "bun"
import type { Reply } from "./reply.ts"

export interface Hit {
  method: string
  path: string
  headers: Record<string, string>
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON that tests pick apart
  body: any
  /** When the request arrived (performance.now()). */
  at: number
}

export interface Frame {
  event?: string
  data: unknown
}

export interface FakeOptions {
  /** The key requests must carry; `null` accepts any (or none). Default `test-key`. */
  key?: string | null
  /** Model ids listed by GET /v1/models. */
  models?: string[]
}

export interface FakeCore {
  readonly hits: Hit[]
  queue(...replies: Reply[]): void
  always(reply: Reply | null): void
  next(): Reply | null
  pending(): number
  /** Resolves when `n` model requests (not /models) have arrived; rejects after `ms`. */
  wait(n: number, ms?: number): Promise<Hit[]>
}

const encoder = new TextEncoder()

export function createCore(): FakeCore & { record(hit: Hit): void } {
  const hits: Hit[] = []
  const queued: Reply[] = []
  let fallback: Reply | null = null
  const waiters: { n: number; resolve: () => void }[] = []
  const modelHits = () => hits.filter((hit) => !hit.path.endsWith("/models")).length
  return {
    hits,
    queue: (...replies) => queued.push(...replies),
    always(reply) {
      fallback = reply
    },
    next: () => queued.shift() ?? fallback,
    pending: () => queued.length,
    record(hit) {
      hits.push(hit)
      for (const waiter of [...waiters]) if (modelHits() >= waiter.n) waiter.resolve()
    },
    wait(n, ms = 10_000) {
      if (modelHits() >= n) return Promise.resolve(hits)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`fake LLM: expected ${n} requests, got ${modelHits()} within ${ms} ms`)),
          ms,
        )
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer)
            resolve(hits)
          },
        })
      })
    },
  }
}

export function sseText(frames: Frame[]): string {
  return frames
    .map(
      (frame) =>
        `${frame.event ? `event: ${frame.event}\n` : ""}data: ${typeof frame.data === "string" ? frame.data : JSON.stringify(frame.data)}\n\n`,
    )
    .join("")
}

/**
 * Streams the frames, then applies a streaming fault (`stall`, `reset`, `malformed`) if the reply has
 * one; `malformed` is the raw SSE block sent for the malformed fault.
 */
export function streamFrames(frames: Frame[], reply: Reply, signal: AbortSignal, malformed: string): Response {
  let index = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index < frames.length) {
        if (reply.delayMs && index > 0) await Bun.sleep(reply.delayMs)
        controller.enqueue(encoder.encode(sseText([frames[index++]!])))
        return
      }
      const fault = reply.fault?.type
      if (fault === "stall") {
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }))
        controller.close()
      } else if (fault === "reset") {
        // Long enough for the frames to leave and be read: a reset that overtakes them (5 ms here, under the
        // CI's load) loses the partial text the test wants the client to have seen.
        await Bun.sleep(50)
        controller.error(new Error("fake LLM: connection reset on cue"))
      } else if (fault === "malformed") {
        controller.enqueue(encoder.encode(malformed))
        controller.close()
      } else controller.close()
    },
  })
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } })
}

/** A request that is accepted and never answered, until the client gives up or the fake closes. */
export function hang(signal: AbortSignal, closed: Promise<void>): Promise<Response> {
  return new Promise((resolve) => {
    const done = () => resolve(new Response("fake LLM: hung request released", { status: 503 }))
    signal.addEventListener("abort", done, { once: true })
    closed.then(done)
  })
}

export function serve(
  handler: (request: Request, body: unknown, closed: Promise<void>) => Promise<Response> | Response,
  core: ReturnType<typeof createCore>,
) {
  let release: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    release = resolve
  })
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    // Quiet: a reset on cue is an errored stream, which Bun would otherwise print.
    development: false,
    error: () => new Response("fake LLM: internal error", { status: 500 }),
    async fetch(request) {
      const url = new URL(request.url)
      const text = request.method === "GET" ? "" : await request.text()
      let body: unknown = null
      try {
        body = text ? JSON.parse(text) : null
      } catch {
        body = text
      }
      core.record({
        method: request.method,
        path: url.pathname,
        headers: Object.fromEntries(request.headers),
        body,
        at: performance.now(),
      })
      return handler(request, body, closed)
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    async close() {
      release()
      await server.stop(true)
    },
  }
}
