/**
 * Turns of the OpenAI-compatible endpoint as the client sees them: a turn may span several requests.
 * When the model calls a tool the client offered, the turn pauses (the loop waits in `run`), the request
 * that is listening ends with those calls, and the client's next request — which carries `role: "tool"`
 * messages (Chat Completions) or `function_call_output` items (Responses) — resumes the same turn. Each
 * request therefore listens to one *segment*: from its start to the next pause or the end of the turn.
 *
 * Which turn a result belongs to is found by its call id (a client without a session header or `user`
 * is still matched). Paused turns live in memory: after a restart the call ids are unknown and the
 * request starts a new turn instead. A pause is bounded: the turn is aborted when the client does not
 * come back within `waitMs`, or when it sends a new message to the session instead of the results.
 */
import type { ClientToolResult, ClientTools } from "../agent/client-tools.ts"
import { ProviderEvent, TurnEvent } from "../agent/events.ts"
import type { Accepted, TurnResult } from "../agent/session.ts"
import type { ToolCallPart, Usage } from "../core/message.ts"
import { addUsage, zeroUsage } from "../core/message.ts"
import type { ToolSpec } from "../core/provider.ts"
import { GatewayEvent } from "../gateway/events.ts"
import type { Gateway } from "../gateway/gateway.ts"

/** How long a turn waits for the results of its client tool calls before it is aborted (controlApi.openaiToolWaitMs). */
export const CLIENT_TOOL_WAIT_MS = 10 * 60_000

export type SegmentEnd = { type: "calls"; calls: ToolCallPart[]; text: string } | { type: "done"; result: TurnResult }

/** One request's view of a turn: the text deltas, usage and how it ends. */
export interface Segment {
  turnId: string
  sessionId: string
  /** The segment's number within its turn (1 for the request that started it). */
  index: number
  ended: Promise<SegmentEnd>
  /** Model usage of the steps in this segment (known once it has ended). */
  usage(): Usage
  /** Text deltas of the turn while the segment lasts; returns the unsubscribe function. */
  onDelta(handler: (text: string, afterTool: boolean) => void): () => void
}

class ClientTurn implements ClientTools {
  done: Promise<TurnResult> | null = null
  turnId = ""
  segments = 0
  private listener: ((end: SegmentEnd) => void) | null = null
  private waiting: { calls: ToolCallPart[]; resolve(results: Map<string, ClientToolResult>): void } | null = null
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly specs: ToolSpec[],
    readonly sessionId: string,
    private readonly hooks: {
      paused(turn: ClientTurn, calls: ToolCallPart[]): void
      resumed(turn: ClientTurn, calls: ToolCallPart[]): void
      expire(turn: ClientTurn): void
      waitMs: number
    },
  ) {}

  /** Called by the agent loop: the turn pauses here until `resume` (or the turn is aborted). */
  run(calls: ToolCallPart[], step: { text: string; signal: AbortSignal }): Promise<Map<string, ClientToolResult>> {
    return new Promise((resolve) => {
      let settled = false
      const settle = (results: Map<string, ClientToolResult>) => {
        if (settled) return
        settled = true
        clearTimeout(this.timer)
        this.waiting = null
        this.hooks.resumed(this, calls)
        resolve(results)
      }
      this.waiting = { calls, resolve: settle }
      step.signal.addEventListener("abort", () => settle(new Map()), { once: true })
      this.timer = setTimeout(() => this.hooks.expire(this), this.hooks.waitMs)
      this.hooks.paused(this, calls)
      const listener = this.listener
      this.listener = null
      listener?.({ type: "calls", calls, text: step.text })
    })
  }

  /** The end of the segment that starts now: the next pause, or the end of the turn. */
  listen(): Promise<SegmentEnd> {
    this.segments++
    return new Promise((resolve) => {
      this.listener = resolve
      this.done?.then((result) => resolve({ type: "done", result }))
    })
  }

  resume(results: Map<string, ClientToolResult>): void {
    this.waiting?.resolve(results)
  }
}

export type ClientTurns = ReturnType<typeof createClientTurns>

export function createClientTurns(gw: Gateway, waitMs: number = CLIENT_TOOL_WAIT_MS) {
  const byCall = new Map<string, ClientTurn>()
  const bySession = new Map<string, ClientTurn>()
  const hooks = {
    waitMs,
    paused(turn: ClientTurn, calls: ToolCallPart[]) {
      for (const call of calls) byCall.set(call.id, turn)
      bySession.set(turn.sessionId, turn)
    },
    resumed(turn: ClientTurn, calls: ToolCallPart[]) {
      for (const call of calls) byCall.delete(call.id)
      if (bySession.get(turn.sessionId) === turn) bySession.delete(turn.sessionId)
    },
    expire(turn: ClientTurn) {
      gw.sessions.abort(
        turn.sessionId,
        `the client did not send the results of its tool calls within ${waitMs} ms (controlApi.openaiToolWaitMs)`,
      )
    },
  }

  // A turn waiting for a client does not hold up a shutdown: it ends as interrupted at once.
  gw.bus.subscribe(GatewayEvent.Stopping, () => {
    for (const sessionId of bySession.keys())
      gw.sessions.abort(sessionId, "shutdown: the gateway stopped while the turn waited for the client's tool results")
  })

  /** A segment of `turnId` ending with `ended`, with its deltas and usage. */
  function segment(turnId: string, sessionId: string, index: number, ended: Promise<SegmentEnd>): Segment {
    let usage = zeroUsage()
    const stopUsage = gw.bus.subscribe(ProviderEvent.Response, (event) => {
      if (event.data.turnId === turnId) usage = addUsage(usage, event.data.usage)
    })
    ended.finally(stopUsage)
    return {
      turnId,
      sessionId,
      index,
      ended,
      usage: () => usage,
      onDelta(handler) {
        let afterTool = false
        const stops = [
          gw.bus.subscribe(TurnEvent.Delta, (event) => {
            if (event.data.turnId !== turnId || !event.data.text) return
            handler(event.data.text, afterTool)
            afterTool = false
          }),
        ]
        const stop = () => {
          for (const each of stops) each()
        }
        // A later model step (after tool results) starts a new paragraph.
        stops.push(
          gw.bus.subscribe(ProviderEvent.Request, (event) => {
            if (event.data.turnId === turnId && event.data.step > 1) afterTool = true
          }),
        )
        ended.finally(stop)
        return stop
      },
    }
  }

  return {
    /** A turn prompted now: its first segment (with client tools, the turn may pause for them). */
    start(accepted: Accepted, client: ClientTurn | null): Segment {
      const { turn } = accepted
      if (!client)
        return segment(
          turn.id,
          turn.sessionId,
          1,
          accepted.done.then((result) => ({ type: "done", result })),
        )
      client.turnId = turn.id
      client.done = accepted.done
      return segment(turn.id, turn.sessionId, 1, client.listen())
    },
    /** Client tools for a turn about to be prompted in `sessionId`. */
    tools(sessionId: string, specs: ToolSpec[]): ClientTurn {
      return new ClientTurn(specs, sessionId, hooks)
    },
    /** The paused turn waiting for any of these call ids. */
    waitingFor(callIds: string[]): ClientTurn | null {
      for (const id of callIds) {
        const turn = byCall.get(id)
        if (turn) return turn
      }
      return null
    },
    /** The paused turn of a session, if any. */
    waitingIn(sessionId: string): ClientTurn | null {
      return bySession.get(sessionId) ?? null
    },
    /** Resume a paused turn with the client's results; the returned segment runs to the next pause or the end. */
    resume(turn: ClientTurn, results: Map<string, ClientToolResult>): Segment {
      const ended = turn.listen()
      const index = turn.segments
      const next = segment(turn.turnId, turn.sessionId, index, ended)
      turn.resume(results)
      return next
    },
    /** A new message went to a session whose turn waits for tool results: that turn gives way. */
    supersede(sessionId: string): void {
      if (bySession.has(sessionId))
        gw.sessions.abort(sessionId, "the client sent a new message instead of the results of its tool calls")
    },
  }
}

export type { ClientTurn }
