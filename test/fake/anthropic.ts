/**
 * A fake Anthropic Messages server on 127.0.0.1 (`POST /v1/messages`, `GET /v1/models`) that streams
 * exactly what the `@anthropic-ai/sdk` parser needs: `event:` lines (data-only SSE yields nothing),
 * message_start → content_block_start/delta/stop (`text_delta`, `thinking_delta`, `input_json_delta`
 * in fragments) → message_delta (stop_reason, usage) → message_stop.
 *
 *   await using llm = await fakeAnthropic()              // accepts x-api-key or Bearer "test-key"
 *   llm.queue(reply().tool("file.read", { path: "a" }), reply().text("done"))
 *   profile = { id: "claude", kind: "anthropic", baseUrl: llm.baseUrl, model: "claude-test" }
 *   llm.requests()[0].body.messages                      // recorded request bodies
 *
 * Like the real API it rejects invalid tool names, non-alternating roles and unanswered tool_use
 * blocks with a 400, a wrong key with a 401, and plays the faults of `Reply` on cue.
 */
import { argsJson, fragments, type Reply } from "./reply.ts"
import {
  createCore,
  type FakeCore,
  type FakeOptions,
  type Frame,
  type Hit,
  hang,
  serve,
  streamFrames,
} from "./server.ts"
import { checkAnthropic } from "./validate.ts"

export { reply } from "./reply.ts"

export interface FakeAnthropic extends FakeCore, AsyncDisposable {
  url: string
  /** What to put in a profile's `baseUrl` (the SDK appends /v1/messages). */
  baseUrl: string
  requests(): Hit[]
  close(): Promise<void>
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  529: "overloaded_error",
}

function errorResponse(status: number, message: string, retryAfter?: number): Response {
  const headers: Record<string, string> = { "content-type": "application/json", "request-id": "req_fake" }
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter)
  return new Response(JSON.stringify({ type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } }), {
    status,
    headers,
  })
}

function messageFrames(reply: Reply, model: string): Frame[] {
  const frames: Frame[] = []
  const emit = (type: string, data: Record<string, unknown>) => frames.push({ event: type, data: { type, ...data } })
  const { input, output, cached = 0 } = reply.tokens
  emit("message_start", {
    message: {
      id: "msg_fake",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: input - cached,
        output_tokens: 1,
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
      },
    },
  })
  let calls = 0
  for (const [index, item] of reply.items.entries()) {
    if (item.type === "text") {
      emit("content_block_start", { index, content_block: { type: "text", text: "" } })
      for (const piece of fragments(item.text, reply.fragment))
        emit("content_block_delta", { index, delta: { type: "text_delta", text: piece } })
    } else if (item.type === "reasoning") {
      emit("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } })
      for (const piece of fragments(item.text, reply.fragment))
        emit("content_block_delta", { index, delta: { type: "thinking_delta", thinking: piece } })
      emit("content_block_delta", { index, delta: { type: "signature_delta", signature: "fake-signature" } })
    } else {
      calls++
      const id = item.id ?? `toolu_${Math.random().toString(36).slice(2, 12)}`
      emit("content_block_start", { index, content_block: { type: "tool_use", id, name: item.name, input: {} } })
      for (const piece of fragments(argsJson(item.args), reply.fragment))
        emit("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } })
    }
    emit("content_block_stop", { index })
  }
  if (reply.fault) return frames
  const stop = calls ? "tool_use" : reply.stopReason === "length" ? "max_tokens" : "end_turn"
  emit("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } })
  emit("message_stop", {})
  return frames
}

export async function fakeAnthropic(options: FakeOptions = {}): Promise<FakeAnthropic> {
  const key = options.key === undefined ? "test-key" : options.key
  const core = createCore()
  const server = serve(async (request, body, closed) => {
    const path = new URL(request.url).pathname
    const given =
      request.headers.get("x-api-key") ?? request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? null
    if (key !== null && given !== key) return errorResponse(401, "invalid x-api-key")
    if (request.method === "GET" && path === "/v1/models")
      return Response.json({
        data: (options.models ?? ["claude-test"]).map((id) => ({
          id,
          type: "model",
          display_name: id,
          created_at: "2025-01-01T00:00:00Z",
        })),
        has_more: false,
        first_id: null,
        last_id: null,
      })
    if (request.method !== "POST" || path !== "/v1/messages")
      return errorResponse(404, `Not found: ${request.method} ${path}`)
    if (!body || typeof body !== "object")
      return errorResponse(400, "There was an error parsing the body of your request")
    const json = body as Record<string, unknown>
    const problem = checkAnthropic(json)
    if (problem) return errorResponse(400, problem)
    if (json.stream !== true) return errorResponse(400, "fake Anthropic: only stream: true is implemented")
    const reply = core.next()
    if (!reply) return errorResponse(500, "fake Anthropic: no reply queued for this request")
    const fault = reply.fault
    if (fault?.type === "status")
      return errorResponse(fault.status, fault.message ?? `fake error ${fault.status}`, fault.retryAfter)
    if (fault?.type === "hang") return hang(request.signal, closed)
    return streamFrames(
      messageFrames(reply, String(json.model ?? "claude-test")),
      reply,
      request.signal,
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"broken\n\n',
    )
  }, core)
  return {
    ...core,
    hits: core.hits,
    url: server.url,
    baseUrl: server.url,
    requests: () => core.hits.filter((hit) => hit.path === "/v1/messages"),
    close: server.close,
    [Symbol.asyncDispose]: server.close,
  }
}
