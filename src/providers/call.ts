/**
 * One model call as Drost's stream events, the part every streaming adapter shares: the request is sent
 * under the call's deadlines (guard.ts), the answer's event stream is read (sse.ts) and folded by the
 * wire format's accumulator, and any failure ends the stream as one error event (failure.ts), told
 * apart by whether the response's headers had arrived.
 */
import type { StreamEvent } from "../core/provider.ts"
import { classify } from "./failure.ts"
import { guarded, type Timeouts } from "./guard.ts"
import { sseJson } from "./sse.ts"

/** Folds a wire format's stream payloads into stream events; `finish()` adds the calls, usage and end. */
export interface Accumulator<T> {
  push(payload: T): StreamEvent[]
  finish(): StreamEvent[]
}

/** `send(abort)` posts the request and answers the (2xx) response whose event stream carries `T`s. */
export async function* modelCall<T>(
  send: (abort: AbortSignal) => Promise<Response>,
  accumulator: Accumulator<T>,
  signal: AbortSignal,
  timeouts: Timeouts,
): AsyncGenerator<StreamEvent> {
  let opened = false
  try {
    const payloads = guarded(
      async (abort) => sseJson<T>(await send(abort)),
      signal,
      timeouts,
      () => {
        opened = true
      },
    )
    for await (const payload of payloads) yield* accumulator.push(payload)
    yield* accumulator.finish()
  } catch (error) {
    yield classify(error, signal, opened)
  }
}
