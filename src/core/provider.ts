/**
 * The provider contract. A provider turns a neutral chat request into a stream of events; the stream
 * never throws and always ends with exactly one terminal event (`done` or `error`), so the agent loop
 * needs no try/catch around a model call and a provider dying mid-stream is ordinary data.
 */
import type { ChatMessage, Usage } from "./message.ts"

export interface ToolSpec {
  name: string
  description: string
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>
}

export interface ChatRequest {
  system: string
  messages: ChatMessage[]
  tools: ToolSpec[]
  sessionId: string
}

export type StopReason = "stop" | "tool_calls" | "length" | "aborted"

/** Why a request failed, for failover: `auth` and `invalid` are not retried on the same provider. */
export type FailureKind = "auth" | "rate_limit" | "timeout" | "unavailable" | "invalid" | "aborted" | "unknown"

export type StreamEvent =
  | { type: "text"; delta: string }
  | { type: "reasoning"; delta: string }
  | { type: "tool-call"; id: string; name: string; args: string }
  | { type: "usage"; usage: Usage }
  | { type: "done"; stop: StopReason }
  | { type: "error"; kind: FailureKind; message: string; status?: number }

export interface Provider {
  /** The profile id (`demo`, `openai`, `local`, …). */
  readonly id: string
  readonly kind: string
  readonly model: string
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<StreamEvent>
}
