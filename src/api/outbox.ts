/**
 * The outgoing side of every SSE subscriber, shared by all of them (issue 14, items 2 and 9).
 *
 * Why: Bun buffers without limit whatever a response writes after the socket stops taking data, so a
 * client that never reads made the gateway hold every frame for it (300 such clients: +733 MB in 26 s),
 * and the old cut-off (count of unsettled write promises) never fired because the kernel's socket
 * buffers absorbed the first megabytes. And writing each frame to each socket inside `bus.publish`
 * ran thousands of syscalls on the turn's own path.
 *
 * So: publishing only appends a reference to the event's frame (serialised once, shared by every
 * subscriber) to each subscriber's queue. A flusher writes the queues in batches of subscribers,
 * yielding to the event loop between batches, one flush per subscriber per batch. A socket
 * that answers a write with a promise (Bun is buffering) gets nothing more until that promise settles;
 * its frames wait in its queue, counted in bytes. A queue over `maxBytes`, or the largest queue while
 * all queues together are over `maxTotalBytes`, is cut off with `event: overflow`.
 */

export interface Sink {
  /** Bun's direct-stream write: a number once taken, a promise while the socket is backed up. */
  write(bytes: Uint8Array): number | Promise<number> | undefined
  flush(): unknown
  /** Cut off: write the overflow frame (it is the last) and close. */
  overflow(lastId: number): void
}

export interface Outlet {
  /** `id`: the frame's bus id; omitted for comments, which resume from the id before them. */
  push(frame: Uint8Array, id?: number): void
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

interface State {
  sink: Sink
  frames: Uint8Array[]
  /** The bus id of each queued frame. */
  ids: number[]
  bytes: number
  /** The last id handed to the socket: where the client resumes after a cut-off. */
  sentId: number
  waiting: boolean
  dirty: boolean
  closed: boolean
}

export interface Outbox {
  /** `after`: the id the client already has (its resume point if it is cut off before any frame). */
  open(sink: Sink, after: number): Outlet
  /** Bytes queued across all subscribers. */
  total(): number
}

/** A batch that ran at least this long is followed by a pause as long as itself. */
const SLICE_MS = 2
const MAX_PAUSE_MS = 20

export function createOutbox(options: OutboxOptions): Outbox {
  const batch = options.batch ?? 64
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

  const drop = (state: State) => {
    total -= state.bytes
    state.bytes = 0
    state.frames = []
    state.ids = []
  }

  const cut = (state: State) => {
    if (state.closed) return
    drop(state)
    state.closed = true
    backedUp.delete(state)
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

  /**
   * Hand queued frames to the socket until it backs up, then flush once. Each frame is written as is:
   * Bun copies it into the response's buffer, so coalescing here would only add a copy.
   */
  const write = (state: State) => {
    let index = 0
    let size = 0
    try {
      while (index < state.frames.length && !state.waiting) {
        const bytes = state.frames[index]!
        const written = state.sink.write(bytes)
        size += bytes.length
        index++
        if (written instanceof Promise) {
          state.waiting = true
          backedUp.add(state)
          written.then(
            () => {
              state.waiting = false
              backedUp.delete(state)
              if (state.frames.length) mark(state)
            },
            () => {},
          )
        }
      }
      state.sink.flush()
    } catch {
      state.closed = true
      backedUp.delete(state)
    }
    if (index) state.sentId = state.ids[index - 1]!
    state.bytes -= size
    total -= size
    state.frames = index >= state.frames.length ? [] : state.frames.slice(index)
    state.ids = state.frames.length ? state.ids.slice(index) : []
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
    const end = Math.min(head + batch, dirty.length)
    for (; head < end; head++) {
      const state = dirty[head]!
      state.dirty = false
      if (!state.closed) write(state)
    }
    if (head >= dirty.length) {
      dirty = []
      head = 0
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
    open(sink, after) {
      const state: State = {
        sink,
        frames: [],
        ids: [],
        bytes: 0,
        sentId: after,
        waiting: false,
        dirty: false,
        closed: false,
      }
      return {
        push(frame, id) {
          if (state.closed) return
          state.frames.push(frame)
          state.ids.push(id ?? state.ids.at(-1) ?? state.sentId)
          state.bytes += frame.length
          total += frame.length
          // Only a socket that refuses data is slow; a queue waiting for the next batch (a replay of the
          // whole ring buffer, say) is not cut.
          if (
            state.waiting &&
            (state.bytes > options.maxBytes || state.frames.length > (options.maxFrames ?? Infinity))
          )
            return cut(state)
          while (total > options.maxTotalBytes) {
            let slowest: State | null = null
            for (const other of backedUp) if (other.bytes > (slowest?.bytes ?? 0)) slowest = other
            if (!slowest) break
            cut(slowest)
          }
          mark(state)
        },
        get queued() {
          return state.bytes
        },
        close() {
          if (state.closed) return
          state.closed = true
          backedUp.delete(state)
          drop(state)
        },
      }
    },
    total: () => total,
  }
}
