/**
 * A fake OpenAI server on 127.0.0.1 speaking both wire formats the `openai` SDK streams: Chat
 * Completions (`POST /v1/chat/completions`, chunk deltas with `role`, `index`, `tool_calls[].index`
 * and argument fragments, usage when `stream_options.include_usage`, `[DONE]`) and the Responses API
 * (`POST /v1/responses`: created → output_item.added → deltas → done → completed). It also answers
 * `GET /v1/models`. It serves the `openai`, `openai-compatible` and `xai` kinds alike.
 *
 *   await using llm = await fakeOpenAI()                 // key "test-key"; { key: null } accepts any
 *   llm.queue(reply().text("hi").tool("file.read", { path: "a" }), reply().text("done"))
 *   profile = { id: "gpt", kind: "openai", baseUrl: llm.baseUrl, model: "gpt-test" }
 *   await llm.wait(2); llm.hits[1].body.input          // recorded request bodies
 *   llm.requests("chat") / llm.requests("responses")   // only the model calls of one API
 *
 * Like the real API it rejects invalid tool names and incomplete tool histories with a 400, a wrong
 * key with a 401, and plays the faults of `Reply` (status, hang, stall, reset, malformed) on cue.
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
import { checkChat, checkResponses } from "./validate.ts"

export { reply } from "./reply.ts"

export interface FakeOpenAI extends FakeCore, AsyncDisposable {
  url: string
  /** What to put in a profile's `baseUrl` (…/v1). */
  baseUrl: string
  requests(api: "chat" | "responses"): Hit[]
  close(): Promise<void>
}

const ERROR_TYPES: Record<number, { type: string; code: string }> = {
  400: { type: "invalid_request_error", code: "invalid_value" },
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory" },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
}

function errorResponse(status: number, message: string, retryAfter?: number): Response {
  const kind = ERROR_TYPES[status] ?? { type: "server_error", code: "server_error" }
  const headers: Record<string, string> = { "content-type": "application/json" }
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter)
  return new Response(JSON.stringify({ error: { message, type: kind.type, param: null, code: kind.code } }), {
    status,
    headers,
  })
}

function chatFrames(reply: Reply, model: string, includeUsage: boolean): Frame[] {
  const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model }
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): Frame => ({
    data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
  })
  const frames: Frame[] = [chunk({ role: "assistant", content: "" })]
  let calls = 0
  for (const item of reply.items) {
    if (item.type === "text")
      for (const piece of fragments(item.text, reply.fragment)) frames.push(chunk({ content: piece }))
    else if (item.type === "reasoning")
      for (const piece of fragments(item.text, reply.fragment)) frames.push(chunk({ reasoning_content: piece }))
    else {
      const index = calls++
      const id = item.id ?? `call_${Math.random().toString(36).slice(2, 10)}`
      frames.push(
        chunk({ tool_calls: [{ index, id, type: "function", function: { name: item.name, arguments: "" } }] }),
      )
      for (const piece of fragments(argsJson(item.args), reply.fragment))
        frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }))
    }
  }
  if (reply.fault) return frames
  frames.push(chunk({}, calls ? "tool_calls" : (reply.stopReason ?? "stop")))
  if (includeUsage) {
    const { input, output, cached = 0 } = reply.tokens
    frames.push({
      data: {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: input,
          completion_tokens: output,
          total_tokens: input + output,
          prompt_tokens_details: { cached_tokens: cached },
        },
      },
    })
  }
  frames.push({ data: "[DONE]" })
  return frames
}

function responsesFrames(reply: Reply, model: string): Frame[] {
  let seq = 0
  const frames: Frame[] = []
  const emit = (type: string, data: Record<string, unknown>) =>
    frames.push({ event: type, data: { type, sequence_number: seq++, ...data } })
  const response = {
    id: "resp_fake",
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    model,
    status: "in_progress",
    output: [] as unknown[],
    usage: null,
  }
  emit("response.created", { response })
  emit("response.in_progress", { response })
  const output: unknown[] = []
  for (const item of reply.items) {
    const index = output.length
    if (item.type === "text") {
      const message = {
        id: `msg_${index}`,
        type: "message",
        role: "assistant",
        status: "in_progress",
        content: [] as unknown[],
      }
      emit("response.output_item.added", { output_index: index, item: message })
      emit("response.content_part.added", {
        item_id: message.id,
        output_index: index,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] },
      })
      for (const piece of fragments(item.text, reply.fragment))
        emit("response.output_text.delta", {
          item_id: message.id,
          output_index: index,
          content_index: 0,
          delta: piece,
          logprobs: [],
        })
      const part = { type: "output_text", text: item.text, annotations: [] }
      emit("response.output_text.done", {
        item_id: message.id,
        output_index: index,
        content_index: 0,
        text: item.text,
        logprobs: [],
      })
      emit("response.content_part.done", { item_id: message.id, output_index: index, content_index: 0, part })
      const done = { ...message, status: "completed", content: [part] }
      emit("response.output_item.done", { output_index: index, item: done })
      output.push(done)
    } else if (item.type === "reasoning") {
      const reasoning = { id: `rs_${index}`, type: "reasoning", summary: [] as unknown[] }
      emit("response.output_item.added", { output_index: index, item: reasoning })
      for (const piece of fragments(item.text, reply.fragment))
        emit("response.reasoning_summary_text.delta", {
          item_id: reasoning.id,
          output_index: index,
          summary_index: 0,
          delta: piece,
        })
      emit("response.output_item.done", {
        output_index: index,
        item: { ...reasoning, summary: [{ type: "summary_text", text: item.text }] },
      })
      output.push(reasoning)
    } else {
      const args = argsJson(item.args)
      const call = {
        id: `fc_${index}`,
        type: "function_call",
        call_id: item.id ?? `call_${Math.random().toString(36).slice(2, 10)}`,
        name: item.name,
        arguments: "",
        status: "in_progress",
      }
      emit("response.output_item.added", { output_index: index, item: call })
      for (const piece of fragments(args, reply.fragment))
        emit("response.function_call_arguments.delta", { item_id: call.id, output_index: index, delta: piece })
      emit("response.function_call_arguments.done", { item_id: call.id, output_index: index, arguments: args })
      const done = { ...call, arguments: args, status: "completed" }
      emit("response.output_item.done", { output_index: index, item: done })
      output.push(done)
    }
  }
  if (reply.fault) return frames
  const { input, output: out, cached = 0 } = reply.tokens
  const usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: out,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + out,
  }
  const incomplete = reply.stopReason === "length"
  emit(incomplete ? "response.incomplete" : "response.completed", {
    response: {
      ...response,
      status: incomplete ? "incomplete" : "completed",
      output,
      usage,
      ...(incomplete ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
    },
  })
  return frames
}

export async function fakeOpenAI(options: FakeOptions = {}): Promise<FakeOpenAI> {
  const key = options.key === undefined ? "test-key" : options.key
  const core = createCore()
  const server = serve(async (request, body, closed) => {
    const path = new URL(request.url).pathname
    if (key !== null && request.headers.get("authorization") !== `Bearer ${key}`)
      return errorResponse(
        401,
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
      )
    if (request.method === "GET" && path === "/v1/models")
      return Response.json({
        object: "list",
        data: (options.models ?? ["gpt-test"]).map((id) => ({ id, object: "model", created: 0, owned_by: "fake" })),
      })
    const api = path === "/v1/chat/completions" ? "chat" : path === "/v1/responses" ? "responses" : null
    if (request.method !== "POST" || !api) return errorResponse(404, `Invalid URL (${request.method} ${path})`)
    if (!body || typeof body !== "object")
      return errorResponse(400, "We could not parse the JSON body of your request.")
    const json = body as Record<string, unknown>
    const problem = api === "chat" ? checkChat(json) : checkResponses(json)
    if (problem) return errorResponse(400, problem)
    if (json.stream !== true) return errorResponse(400, "fake OpenAI: only stream: true is implemented")
    const reply = core.next()
    if (!reply) return errorResponse(500, "fake OpenAI: no reply queued for this request")
    const fault = reply.fault
    if (fault?.type === "status")
      return errorResponse(fault.status, fault.message ?? `fake error ${fault.status}`, fault.retryAfter)
    if (fault?.type === "hang") return hang(request.signal, closed)
    const model = String(json.model ?? "gpt-test")
    const frames =
      api === "chat"
        ? chatFrames(
            reply,
            model,
            Boolean((json.stream_options as { include_usage?: boolean } | undefined)?.include_usage),
          )
        : responsesFrames(reply, model)
    return streamFrames(frames, reply, request.signal, 'data: {"choices":[{"index":0,"delta":{"content":"broken\n\n')
  }, core)
  return {
    ...core,
    hits: core.hits,
    url: server.url,
    baseUrl: `${server.url}/v1`,
    requests: (api) =>
      core.hits.filter((hit) => hit.path === (api === "chat" ? "/v1/chat/completions" : "/v1/responses")),
    close: server.close,
    [Symbol.asyncDispose]: server.close,
  }
}
