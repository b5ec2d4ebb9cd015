/**
 * One live connection to GET /control/v1/events for the whole page. The first connection replays the
 * bus's buffer (`since=0`); after a drop it reconnects with `Last-Event-ID`, so each event arrives
 * once. Views subscribe to it instead of opening streams of their own.
 */
import { readSse } from "./api.js"

const KEEP = 2000

export function createFeed(client) {
  const events = []
  const listeners = new Set()
  const stateListeners = new Set()
  let lastId = null
  let state = "connecting"
  let stopped = false
  let controller = null
  let timer = null
  let retryMs = 1000
  let reconnects = 0
  let waitingOnline = false

  const setState = (next) => {
    state = next
    for (const listener of stateListeners) listener(next)
  }

  async function connect() {
    timer = null
    controller = new AbortController()
    try {
      const headers = lastId === null ? {} : { "last-event-id": String(lastId) }
      const response = await client.raw(lastId === null ? "/events?since=0" : "/events", {
        headers,
        signal: controller.signal,
        accept: "text/event-stream",
      })
      setState("live")
      retryMs = 1000
      for await (const frame of readSse(response)) {
        if (frame.event === "overflow") break
        const envelope = frame.data
        if (!envelope || typeof envelope !== "object" || typeof envelope.type !== "string") continue
        if (frame.id) lastId = Number(frame.id)
        events.push(envelope)
        if (events.length > KEEP) events.splice(0, events.length - KEEP)
        for (const listener of listeners) listener(envelope)
      }
    } catch {
      // dropped or refused: retried below
    }
    if (stopped) return
    reconnects++
    setState("reconnecting")
    // Offline, a retry can only fail: wait for the browser's online event instead.
    if (!navigator.onLine) {
      waitingOnline = true
      return
    }
    timer = setTimeout(connect, retryMs)
    retryMs = Math.min(retryMs * 2, 15_000)
  }

  // A connection that went offline may look open for minutes: drop it at once, and retry as soon as
  // the network is back instead of waiting out the backoff.
  const offline = () => controller?.abort()
  const online = () => {
    if (!timer && !waitingOnline) return
    if (timer) clearTimeout(timer)
    waitingOnline = false
    retryMs = 1000
    connect()
  }
  addEventListener("offline", offline)
  addEventListener("online", online)

  connect()
  return {
    events: () => events,
    state: () => state,
    reconnects: () => reconnects,
    lastId: () => lastId,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    /**
     * Called with the current state at once, then with each change: a view subscribes in an effect,
     * after its first paint, and the feed (connecting from the start) may have gone live before that;
     * the dashboard's badge then stayed "connecting" (seen once in CI on a loaded machine).
     */
    onState(listener) {
      stateListeners.add(listener)
      listener(state)
      return () => stateListeners.delete(listener)
    },
    /** Drop the connection now (it reconnects with Last-Event-ID, as after a network drop). */
    drop() {
      controller?.abort()
    },
    stop() {
      stopped = true
      removeEventListener("offline", offline)
      removeEventListener("online", online)
      if (timer) clearTimeout(timer)
      controller?.abort()
    },
  }
}

/** `session.*` matches every type under `session.`; anything else matches a prefix. */
export function typeMatches(type, filter) {
  if (!filter) return true
  return filter
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((one) => (one.endsWith(".*") ? type.startsWith(one.slice(0, -1)) : type.startsWith(one)))
}
