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

/**
 * Generation settings a client asked for on one turn (the OpenAI-compatible endpoint). Each adapter
 * sends those its wire API has and leaves the rest out; unset means the provider's (or profile's) default.
 */
export interface GenerationOptions {
  /** Output tokens per model call; overrides the profile's `maxTokens`. */
  maxTokens?: number
  temperature?: number
  topP?: number
  stop?: string[]
  /** JSON mode, or a JSON Schema the answer must follow (Chat Completions and Responses kinds). */
  responseFormat?:
    | { type: "json_object" }
    | { type: "json_schema"; name: string; schema: Record<string, unknown>; strict?: boolean; description?: string }
  /** Whether (and which) tool the model must call: `required` is any tool, `{ name }` that one. */
  toolChoice?: "auto" | "none" | "required" | { name: string }
}

export interface ChatRequest {
  system: string
  messages: ChatMessage[]
  tools: ToolSpec[]
  sessionId: string
  options?: GenerationOptions
}

export type StopReason = "stop" | "tool_calls" | "length" | "aborted"

/**
 * Why a request failed, for failover. `auth` (401/403), `rate_limit` (429), `server` (5xx), `timeout`
 * (connect, first token or stream idle), `network` (refused, reset before a response), `stream` (the
 * response broke or was malformed mid-stream) fail over to the next candidate; `invalid` (other
 * 4xx: the request itself is wrong) and `aborted` never do. `unavailable` and `unknown` are kept for
 * adapters that cannot tell. `overload` is a deadline missed because our own event loop was blocked
 * (the provider may have answered in time): it never cools the provider down nor fails over.
 */
export type FailureKind =
  | "auth"
  | "rate_limit"
  | "server"
  | "timeout"
  | "network"
  | "stream"
  | "unavailable"
  | "invalid"
  | "overload"
  | "aborted"
  | "unknown"

export type StreamEvent =
  | { type: "text"; delta: string }
  | { type: "reasoning"; delta: string }
  | { type: "tool-call"; id: string; name: string; args: string }
  | { type: "usage"; usage: Usage }
  | { type: "done"; stop: StopReason }
  | { type: "error"; kind: FailureKind; message: string; status?: number; retryAfterMs?: number }
  /** The router starts a candidate (failover only; plain adapters never emit it). */
  | { type: "attempt"; provider: string; model: string; attempt: number }
  /**
   * The router gave up on a candidate and moves to the next: whatever this step streamed so far is
   * void (`partial` says whether any text or tool call had arrived) and must not be shown twice.
   */
  | {
      type: "attempt-failed"
      provider: string
      model: string
      kind: FailureKind
      message: string
      status?: number
      cooldownMs: number
      partial: boolean
      /** Set when the router tries the same provider again after this pause (a retry, not a failover). */
      retryInMs?: number
    }

export interface Provider {
  /** The profile id (`demo`, `openai`, `local`, …). */
  readonly id: string
  readonly kind: string
  readonly model: string
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<StreamEvent>
}
