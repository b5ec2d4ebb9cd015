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

export function createOutbox(options: OutboxOptions): Outbox {
  const batch = options.batch ?? 64
  const all = new Set<State>()
  let dirty: State[] = []
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
    all.delete(state)
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
          written.then(
            () => {
              state.waiting = false
              if (state.frames.length) mark(state)
            },
            () => {},
          )
        }
      }
      state.sink.flush()
    } catch {
      state.closed = true
    }
    if (index) state.sentId = state.ids[index - 1]!
    state.bytes -= size
    total -= size
    state.frames = index >= state.frames.length ? [] : state.frames.slice(index)
    state.ids = state.frames.length ? state.ids.slice(index) : []
    if (state.closed) drop(state)
  }

  function run() {
    scheduled = false
    const now = dirty.slice(0, batch)
    dirty = dirty.slice(batch)
    for (const state of now) {
      state.dirty = false
      if (!state.closed) write(state)
    }
    if (dirty.length) schedule()
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
      all.add(state)
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
            for (const other of all) if (other.waiting && other.bytes > (slowest?.bytes ?? 0)) slowest = other
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
          all.delete(state)
          drop(state)
        },
      }
    },
    total: () => total,
  }
}
