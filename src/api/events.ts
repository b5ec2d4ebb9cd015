/**
 * GET /control/v1/events: every bus event as SSE, with its bus id as the SSE `id`. A client that
 * reconnects with `Last-Event-ID` (or `?since=`) first gets what it missed from the bus's ring buffer,
 * then the live stream, each event exactly once. A comment line every 15 s keeps proxies and idle
 * timers from closing a quiet stream. The subscription is dropped as soon as the client disconnects.
 *
 * Written over a plain ReadableStream rather than an Elysia generator: we need comment lines, a cancel
 * hook, and control over framing when a slow client falls too far behind. A client whose unsent frames
 * pass a byte bound (or the slowest, when all clients' together pass the total bound) gets
 * `event: overflow` and is cut off; see outbox.ts for why and how.
 */
import { Elysia, t } from "elysia"
import { type Envelope, Events } from "../core/event.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { createOutbox, type Outbox } from "./outbox.ts"
import { INVALID } from "./schemas.ts"
// Every module that declares events, so the registry (and the document's list of types) is complete
// whichever of them this gateway happened to load; test/api/openapi.test.ts checks no declaration is missed.
import "../agent/events.ts"
import "../agent/continuity-events.ts"
import "../agent/job-events.ts"
import "../approval/events.ts"
import "../core/channel-events.ts"
import "../evolve/events.ts"
import "../gateway/events.ts"
import "../tool/events.ts"
import "../skills/events.ts"

export interface EventsOptions {
  keepaliveMs?: number
  /** Queued events after which a slow client is cut off (it can resume with Last-Event-ID). */
  maxBacklog?: number
  /** Queued bytes after which a slow client is cut off (default controlApi.sseMaxBacklogBytes, 1 MiB). */
  maxBacklogBytes?: number
  /** Queued bytes of all clients together; over it the slowest is cut off (default 16 MiB). */
  maxTotalBacklogBytes?: number
  /** Open streams register a closer here, so a stopping server can end them cleanly. */
  open?: Set<() => void>
}

export interface Filter {
  sessionId?: string
  types: string[]
}

/** `session.*` matches every type under `session.`; anything else must match exactly. */
export function matches(event: Envelope, filter: Filter): boolean {
  if (
    filter.types.length &&
    !filter.types.some((type) => (type.endsWith(".*") ? event.type.startsWith(type.slice(0, -1)) : event.type === type))
  )
    return false
  if (filter.sessionId && (event.data as { sessionId?: unknown } | null)?.sessionId !== filter.sessionId) return false
  return true
}

const encoder = new TextEncoder()

/** Every subscriber gets the same envelope object: it is serialised once, not once per subscriber. */
const framed = new WeakMap<Envelope, Uint8Array>()

export function frame(event: Envelope): Uint8Array {
  let bytes = framed.get(event)
  if (!bytes) {
    bytes = encoder.encode(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ ...event })}\n\n`)
    framed.set(event, bytes)
  }
  return bytes
}

/** The keepalive comment: one per 15 s per subscriber, so encoding it each time costs nothing that matters. */
const keepalive = () => encoder.encode(`: keepalive ${Date.now()}\n\n`)

/** One outbox per gateway: the total bound is across every subscriber of that gateway. */
const outboxes = new WeakMap<Gateway, Outbox>()

function outboxOf(gw: Gateway, options: EventsOptions): Outbox {
  let outbox = outboxes.get(gw)
  if (!outbox) {
    const settings = gw.config.controlApi
    outbox = createOutbox(
      {
        maxBytes: options.maxBacklogBytes ?? settings.sseMaxBacklogBytes ?? 1024 * 1024,
        maxTotalBytes: options.maxTotalBacklogBytes ?? settings.sseMaxTotalBacklogBytes ?? 16 * 1024 * 1024,
        maxFrames: options.maxBacklog ?? 10_000,
      },
      frame,
    )
    outboxes.set(gw, outbox)
  }
  return outbox
}

/** The fan-out's state (for tests and diagnostics): live events held in the shared log, unsent bytes, backed-up subscribers. */
export function fanoutStats(gw: Gateway): { logged: number; queued: number; waiting: number } {
  const outbox = outboxes.get(gw)
  return { logged: outbox?.logged() ?? 0, queued: outbox?.total() ?? 0, waiting: outbox?.waiting() ?? 0 }
}

export function eventStream(
  gw: Gateway,
  request: Request,
  after: number | null,
  filter: Filter,
  options: EventsOptions = {},
): Response {
  const keepaliveMs = options.keepaliveMs ?? 15_000
  const outbox = outboxOf(gw, options)
  // A direct stream: frames go straight to the socket, without the copy and queue of a default
  // ReadableStream. Bun calls pull() once; the stream stays open until the promise it returns settles.
  // Frames are queued in the shared outbox (outbox.ts), which writes them in batches off the
  // publisher's path and cuts off a subscriber whose queue passes its byte bound.
  const stream = new ReadableStream<Uint8Array>({
    type: "direct",
    pull(controller: ReadableStreamDirectController) {
      return new Promise<void>((finish) => {
        let last = after ?? gw.bus.lastId()
        let closed = false
        const wants = (event: Envelope) => matches(event, filter)
        const outlet = outbox.open(
          {
            write: (bytes) => controller.write(bytes) as number | Promise<number>,
            flush: () => controller.flush(),
            overflow: (lastId) => {
              try {
                controller.write(
                  encoder.encode(
                    `event: overflow\ndata: ${JSON.stringify({ lastId, message: "client too slow; reconnect with Last-Event-ID" })}\n\n`,
                  ),
                )
                controller.flush()
              } catch {}
              onAbort()
            },
          },
          last,
          wants,
        )
        // A replayed event is this subscriber's own frame; a live one goes through the shared log, so
        // offering it to each subscriber allocates nothing.
        const send = (event: Envelope, replay: boolean) => {
          if (closed || event.id <= last) return
          last = event.id
          if (!wants(event)) return
          if (replay) outlet.push(frame(event), event.id)
          else outlet.offer(event)
        }
        // Subscribe before replaying so nothing published in between is lost; `last` drops duplicates.
        const live: Envelope[] = []
        let replaying = true
        const unsubscribe = gw.bus.subscribeAll((event) => (replaying ? live.push(event) : send(event, false)))
        const timer = setInterval(() => outlet.push(keepalive()), keepaliveMs)
        const onAbort = () => {
          if (closed) return
          closed = true
          clearInterval(timer)
          unsubscribe()
          outlet.close()
          options.open?.delete(onAbort)
          request.signal.removeEventListener("abort", onAbort)
          try {
            controller.close()
          } catch {}
          finish()
        }
        options.open?.add(onAbort)
        request.signal.addEventListener("abort", onAbort)
        outlet.push(encoder.encode(`retry: 2000\n: connected, last id ${gw.bus.lastId()}\n\n`))
        if (after !== null) {
          const missed = gw.bus.since(after)
          if (missed === null) {
            const gap = {
              requested: after,
              message: "some events after this id are no longer buffered; reload state from the REST routes",
            }
            outlet.push(encoder.encode(`event: gap\ndata: ${JSON.stringify(gap)}\n\n`))
            for (const event of oldestBuffered(gw, after)) send(event, true)
          } else for (const event of missed) send(event, true)
        }
        replaying = false
        for (const event of live) send(event, false)
        live.length = 0
      })
    },
  })
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  })
}

/** Everything still buffered, when the client's id is older than the ring: the smallest id `since` accepts. */
function oldestBuffered(gw: Gateway, after: number): Envelope[] {
  let lo = after
  let hi = gw.bus.lastId()
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if (gw.bus.since(mid) === null) lo = mid + 1
    else hi = mid
  }
  return gw.bus.since(lo) ?? []
}

function parseAfter(header: string | null, since: number | undefined): number | null {
  if (since !== undefined) return since
  if (!header || !/^\d+$/.test(header.trim())) return null
  return Number(header.trim())
}

export function eventRoutes(gw: Gateway, options: EventsOptions = {}) {
  const types = Events.all().map((def) => def.type)
  return new Elysia({ prefix: "/control/v1" }).get(
    "/events",
    ({ request, query }) => {
      const filter: Filter = {
        sessionId: query.session,
        types: (query.type ?? "")
          .split(",")
          .map((type) => type.trim())
          .filter(Boolean),
      }
      return eventStream(gw, request, parseAfter(request.headers.get("last-event-id"), query.since), filter, options)
    },
    {
      query: t.Object({
        session: t.Optional(t.String({ description: "Only events whose data has this sessionId" })),
        type: t.Optional(
          t.String({
            description: "Comma-separated event types; `prefix.*` matches a family (e.g. `session.turn.*,tool.*`)",
          }),
        ),
        since: t.Optional(
          t.Numeric({ minimum: 0, description: "Replay events after this id (same as the Last-Event-ID header)" }),
        ),
      }),
      headers: t.Object({ "last-event-id": t.Optional(t.String({ description: "Resume after this event id" })) }),
      detail: {
        operationId: "streamEvents",
        tags: ["events"],
        summary: "Stream bus events (SSE)",
        description: `A stream that never ends (server-sent events): \`id\` is the bus id, \`event\` the type, \`data\` the envelope \`{ id, type, time, data }\`. **Swagger UI cannot show it**: "Try it out" waits for the end of the response, which never comes, so it spins until you cancel; use \`curl -N -H "Authorization: Bearer $TOKEN" …/control/v1/events\` or an \`EventSource\` client. Reconnect with \`Last-Event-ID\` (or \`?since=\`) to receive exactly the events you missed (the last 4,096 are buffered); an \`event: gap\` says some were already dropped, an \`event: overflow\` that this client fell too far behind and was cut off. A \`: keepalive\` comment arrives every 15 s. Types: ${types.join(", ")}.`,
        responses: {
          200: {
            description:
              "text/event-stream that stays open: one frame per event (`id:`, `event:`, `data:` with one of the envelopes below), `: keepalive` comments, and `event: gap` / `event: overflow` notices",
            headers: { "cache-control": { schema: { type: "string", enum: ["no-cache"] } } },
            content: {
              "text/event-stream": {
                schema: t.Union([
                  Events.union(),
                  t.Object(
                    { requested: t.Number(), message: t.String() },
                    { description: "event: gap (some events after `requested` are no longer buffered)" },
                  ),
                  t.Object(
                    { lastId: t.Number(), message: t.String() },
                    { description: "event: overflow (this client fell too far behind and is cut off)" },
                  ),
                ]) as object,
                example: {
                  id: 1767225600000001,
                  type: "session.created",
                  time: 1767225600000,
                  data: { sessionId: "ses_01jz8k3v7q0000000000000000", provider: "demo", channel: "api" },
                },
              },
            },
          },
          400: {
            description: INVALID,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
          },
        },
      },
    },
  )
}
