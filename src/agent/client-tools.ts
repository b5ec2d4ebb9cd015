/**
 * Tools a client offers with its request (the OpenAI-compatible endpoint's `tools`): the model sees
 * them beside the gateway's own, but the client runs them. When the model calls one, the loop hands
 * the step's client calls over and waits: the endpoint answers the request with those calls
 * (`finish_reason: "tool_calls"`), and the client's next request brings the results, which resume the
 * same turn where it paused. The waiting is bounded by the caller (it aborts the turn when the client
 * never comes back), and by the turn's own deadline.
 */
import type { ToolCallPart } from "../core/message.ts"
import type { ToolSpec } from "../core/provider.ts"

export interface ClientToolResult {
  output: string
  isError: boolean
}

export interface ClientTools {
  /** The client's tools; a gateway tool of the same name is hidden for the turn. */
  specs: ToolSpec[]
  /**
   * Hand over one step's calls of client tools (with the text the model wrote in that step) and
   * wait for their results, by call id. Settles when the signal aborts (the turn ends then).
   */
  run(calls: ToolCallPart[], step: { text: string; signal: AbortSignal }): Promise<Map<string, ClientToolResult>>
}
