/**
 * The outgoing side of every SSE subscriber, shared by all of them (issue 14, items 2 and 9).
 *
 * Why: Bun buffers without limit whatever a response writes after the socket stops taking data, so a
 * client that never reads made the gateway hold every frame for it (300 such clients: +733 MB in 26 s),
 * and the old cut-off (count of unsettled write promises) never fired because the kernel's socket
 * buffers absorbed the first megabytes. And writing each frame to each socket inside `bus.publish`
 * ran thousands of syscalls on the turn's own path.
 *
 * So: a live event goes once into a log shared by every subscriber (its frame serialised once), and
 * each subscriber is a cursor into that log plus a count of the bytes it has still to send. Offering an
 * event to a subscriber allocates nothing: no per-subscriber queue of frames, whose arrays (10 million
 * entries for 300 subscribers over 36,000 events) lived just long enough to reach the old generation of
 * the heap and were most of the gateway's growth during a fan-out. A subscriber's own frames (the
 * greeting, a replay, keepalives) wait in a small queue of its own, written before the log.
 *
 * A flusher writes the subscribers in batches, yielding to the event loop between batches, one flush
 * per subscriber per batch. A socket that answers a write with a promise (Bun is buffering) gets nothing
 * more until that promise settles. A subscriber whose socket is backed up and whose unsent bytes pass
 * `maxBytes` (or frames `maxFrames`), or the one furthest behind while all together pass
 * `maxTotalBytes`, is cut off with `event: overflow`. The log keeps only what some cursor has not passed;
 * a filtered subscriber that lags too far (it holds the log while matching little of it) has its part
 * copied into its own queue, so the log stays under `maxTotalBytes`.
 */
import type { Envelope } from "../core/event.ts"

export interface Sink {
  /** Bun's direct-stream write: a number once taken, a promise while the socket is backed up. */
  write(bytes: Uint8Array): number | Promise<number> | undefined
  flush(): unknown
  /** Cut off: write the overflow frame (it is the last) and close. */
  overflow(lastId: number): void
}

export interface Outlet {
  /** A frame of this subscriber's own (greeting, replay, keepalive). `id`: its bus id; none for comments. */
  push(frame: Uint8Array, id?: number): void
  /** A live event this subscriber wants (the caller has matched it); written from the shared log. */
  offer(event: Envelope): void
  /** Bytes queued for this subscriber and not yet handed to its socket. */
  readonly queued: number
  close(): void
}

export interface OutboxOptions {
  /** One subscriber's queue limit in bytes. */
  maxBytes: number
  /** One subscriber's queue limit in frames. */
  maxFrames?: number
  /** All subscribers' queues together; over it, the largest is cut off first. */
  maxTotalBytes: number
  /** Subscribers written per turn of the event loop. */
  batch?: number
}

export interface Outbox {
  /**
   * `after`: the id the client already has (its resume point if it is cut off before any frame; log
   * entries up to it are skipped). `wants`: the subscriber's filter, applied again when writing the log.
   */
  open(sink: Sink, after: number, wants: (event: Envelope) => boolean): Outlet
  /** Bytes queued across all subscribers. */
  total(): number
  /** Entries in the shared log (for tests: it must not grow past what the cursors still need). */
  logged(): number
  /** Subscribers whose socket is backed up. */
  waiting(): number
}

interface State {
  sink: Sink
  wants: (event: Envelope) => boolean
  /** Own frames (and their ids, -1 for comments) from `ownAt` on, written before the log. */
  own: Uint8Array[]
  ownIds: number[]
  ownAt: number
  /** Absolute position in the log of the next entry to consider. */
  cursor: number
  /** Unsent bytes and frames (own and offered). */
  bytes: number
  frames: number
  /** The last id handed to the socket: where the client resumes after a cut-off. */
  sentId: number
  waiting: boolean
  dirty: boolean
  closed: boolean
}

/** A batch that ran at least this long is followed by a pause as long as itself. */
const SLICE_MS = 2
const MAX_PAUSE_MS = 20
/** The log is trimmed to the slowest cursor every this many appends. */
const TRIM_EVERY = 256

export function createOutbox(options: OutboxOptions, frameOf: (event: Envelope) => Uint8Array): Outbox {
  const batch = options.batch ?? 64
  const maxFrames = options.maxFrames ?? Infinity
  const states = new Set<State>()
  /**
   * The subscribers whose socket is backed up: the only ones the total bound may cut. Kept apart so that
   * a push over the total scans a handful, not every subscriber (with 2,000 readers, scanning all of
   * them on each push was most of the gateway's CPU).
   */
  const backedUp = new Set<State>()
  let dirty: State[] = []
  /** The next entry of `dirty` to write. */
  let head = 0
  let total = 0
  let scheduled = false

  /** The shared log: `events[i]` is at absolute position `base + i`, its frame in `frames[i]`. */
  let events: Envelope[] = []
  let frames: Uint8Array[] = []
  let base = 0
  let logBytes = 0
  let appended = 0

  const end = () => base + events.length

  const drop = (state: State) => {
    total -= state.bytes
    state.bytes = 0
    state.frames = 0
    state.own = []
    state.ownIds = []
    state.ownAt = 0
    states.delete(state)
    backedUp.delete(state)
  }

  const cut = (state: State) => {
    if (state.closed) return
    drop(state)
    state.closed = true
    state.sink.overflow(state.sentId)
  }

  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(run)
  }

  const mark = (state: State) => {
    if (state.dirty || state.waiting || state.closed) return
    state.dirty = true
    dirty.push(state)
    schedule()
  }

  /** After a push or offer: the subscriber's own bound, then the total's. */
  const bound = (state: State) => {
    if (state.waiting && (state.bytes > options.maxBytes || state.frames > maxFrames)) return cut(state)
    while (total > options.maxTotalBytes) {
      let slowest: State | null = null
      for (const other of backedUp) if (other.bytes > (slowest?.bytes ?? 0)) slowest = other
      if (!slowest) break
      cut(slowest)
    }
    mark(state)
  }

  /**
   * Drops the log entries every cursor has passed. If what is left still passes `maxTotalBytes`, the
   * subscribers still before its second half get their wanted entries of the first half copied into
   * their own queues (the bytes are already counted for them), and that half goes too.
   */
  const trim = () => {
    let min = end()
    for (const state of states) if (state.cursor < min) min = state.cursor
    shift(min)
    if (logBytes <= options.maxTotalBytes) return
    let keep = logBytes
    let at = base
    while (at < end() - 1 && keep > options.maxTotalBytes / 2) keep -= frames[at++ - base]!.length
    for (const state of states) {
      while (state.cursor < at) {
        const i = state.cursor++ - base
        const event = events[i]!
        if (event.id <= state.sentId || !state.wants(event)) continue
        state.own.push(frames[i]!)
        state.ownIds.push(event.id)
      }
    }
    shift(at)
  }

  /** Drops the log entries before absolute position `to`. */
  const shift = (to: number) => {
    const count = to - base
    if (count <= 0) return
    for (let i = 0; i < count; i++) logBytes -= frames[i]!.length
    events = count >= events.length ? [] : events.slice(count)
    frames = count >= frames.length ? [] : frames.slice(count)
    base = to
  }

  const wait = (state: State, written: Promise<number>) => {
    state.waiting = true
    backedUp.add(state)
    written.then(
      () => {
        state.waiting = false
        backedUp.delete(state)
        mark(state)
      },
      () => {},
    )
  }

  /**
   * Hand the subscriber's own frames, then the log from its cursor, to the socket until it backs up;
   * then flush once. Each frame is written as is: Bun copies it into the response's buffer, so
   * coalescing here would only add a copy.
   */
  const write = (state: State) => {
    let size = 0
    let count = 0
    try {
      while (state.ownAt < state.own.length && !state.waiting) {
        const bytes = state.own[state.ownAt]!
        const id = state.ownIds[state.ownAt++]!
        const written = state.sink.write(bytes)
        size += bytes.length
        count++
        if (id > state.sentId) state.sentId = id
        if (written instanceof Promise) wait(state, written)
      }
      if (state.ownAt && state.ownAt >= state.own.length) {
        state.own = []
        state.ownIds = []
        state.ownAt = 0
      }
      const last = end()
      while (state.cursor < last && !state.waiting) {
        const i = state.cursor++ - base
        const event = events[i]!
        if (event.id <= state.sentId || !state.wants(event)) continue
        const bytes = frames[i]!
        const written = state.sink.write(bytes)
        size += bytes.length
        count++
        state.sentId = event.id
        if (written instanceof Promise) wait(state, written)
      }
      state.sink.flush()
    } catch {
      state.closed = true
    }
    const spent = Math.min(size, state.bytes)
    state.bytes -= spent
    total -= spent
    state.frames = Math.max(0, state.frames - count)
    // Caught up: whatever the counts say, nothing is queued (they never drift).
    if (state.ownAt === 0 && state.own.length === 0 && state.cursor === end()) {
      total -= state.bytes
      state.bytes = 0
      state.frames = 0
    }
    if (state.closed) drop(state)
  }

  /**
   * One batch, then yield. Fan-out must not starve the turn path (issue 14, item 9: 2,000 readers made
   * turns wait behind their writes until deadlines passed): when a batch took longer than SLICE_MS the
   * next one waits as long as this one ran, so the rest of the loop (turns, requests, timers) keeps at
   * least half of the CPU while there is a backlog to write. Readers then lag (bounded by `maxFrames`)
   * rather than the turns.
   */
  function run() {
    scheduled = false
    const started = performance.now()
    // Taken from the front by index: slicing the queue on every batch copied it (O(subscribers) each).
    const stop = Math.min(head + batch, dirty.length)
    for (; head < stop; head++) {
      const state = dirty[head]!
      state.dirty = false
      if (!state.closed) write(state)
    }
    if (head >= dirty.length) {
      dirty = []
      head = 0
      trim()
      return
    }
    if (head > 4096) {
      dirty = dirty.slice(head)
      head = 0
    }
    const spent = performance.now() - started
    if (spent < SLICE_MS) return schedule()
    scheduled = true
    setTimeout(run, Math.min(spent, MAX_PAUSE_MS))
  }

  return {
    open(sink, after, wants) {
      const state: State = {
        sink,
        wants,
        own: [],
        ownIds: [],
        ownAt: 0,
        cursor: end(),
        bytes: 0,
        frames: 0,
        sentId: after,
        waiting: false,
        dirty: false,
        closed: false,
      }
      states.add(state)
      return {
        push(frame, id) {
          if (state.closed) return
          state.own.push(frame)
          state.ownIds.push(id ?? -1)
          state.bytes += frame.length
          state.frames++
          total += frame.length
          // Only a socket that refuses data is slow; a queue waiting for the next batch (a replay of the
          // whole ring buffer, say) is not cut.
          bound(state)
        },
        offer(event) {
          if (state.closed) return
          // Every subscriber is offered the same event in turn: the first appends it to the log.
          let size: number
          if (events[events.length - 1] === event) size = frames[frames.length - 1]!.length
          else {
            const bytes = frameOf(event)
            events.push(event)
            frames.push(bytes)
            size = bytes.length
            logBytes += size
            appended++
          }
          state.bytes += size
          state.frames++
          total += size
          if (appended >= TRIM_EVERY) {
            appended = 0
            trim()
          }
          bound(state)
        },
        get queued() {
          return state.bytes
        },
        close() {
          if (state.closed) return
          state.closed = true
          drop(state)
        },
      }
    },
    total: () => total,
    logged: () => events.length,
    waiting: () => backedUp.size,
  }
}
