/**
 * `POST /v1/responses`, the Responses API, over the same sessions and turns as Chat Completions. A
 * response is one segment of a turn (openai-turns.ts); its id (`resp_<turn id>`, `-<n>` for a later
 * segment) is what `previous_response_id` names, so the next request continues in that session. Client
 * function tools work as in Chat Completions: a call ends the response with `function_call` items, and
 * the next request's `function_call_output` items resume the turn.
 *
 * The stream is the sequence the official client's `responses.stream()` accumulates: `response.created`
 * first, every output item added → deltas → done, then `response.completed` (or `response.failed`).
 */
import { t } from "elysia"
import type { ClientToolResult } from "../agent/client-tools.ts"
import type { ToolCallPart, Usage } from "../core/message.ts"
import type { Shared } from "./openai.ts"
import { openaiError } from "./openai-errors.ts"
import { fetchImages } from "./openai-images.ts"
import { compact, formatOf, number, ParamError, tokens, toolChoiceOf, toolsOf } from "./openai-params.ts"
import type { Segment, SegmentEnd } from "./openai-turns.ts"

export const ResponsesBody = t.Object(
  {
    model: t.String({ description: "`drost` or a provider profile id (see GET /v1/models)" }),
    input: t.Union([t.String(), t.Array(t.Object({}, { additionalProperties: true }))], {
      description: "Text, or input items: messages (input_text, input_image) and function_call_output",
    }),
    instructions: t.Optional(t.Union([t.String(), t.Null()])),
    previous_response_id: t.Optional(t.Union([t.String(), t.Null()], { description: "Continue in its session" })),
    stream: t.Optional(t.Boolean()),
    tools: t.Optional(t.Array(t.Object({}, { additionalProperties: true }), { description: "Function tools" })),
    tool_choice: t.Optional(t.Unknown()),
    max_output_tokens: t.Optional(t.Union([t.Integer(), t.Null()])),
    temperature: t.Optional(t.Union([t.Number(), t.Null()])),
    top_p: t.Optional(t.Union([t.Number(), t.Null()])),
    text: t.Optional(t.Object({ format: t.Optional(t.Unknown()) }, { additionalProperties: true })),
    user: t.Optional(t.String({ maxLength: 256 })),
  },
  { additionalProperties: true, examples: [{ model: "drost", input: "list files" }] },
)
type Body = typeof ResponsesBody.static

const USED = [
  "model",
  "input",
  "instructions",
  "previous_response_id",
  "stream",
  "tools",
  "tool_choice",
  "max_output_tokens",
  "temperature",
  "top_p",
  "text",
  "user",
]
const IGNORED = [
  "metadata",
  "store",
  "parallel_tool_calls",
  "reasoning",
  "truncation",
  "include",
  "service_tier",
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
  "max_tool_calls",
  "stream_options",
]
const REFUSED: Record<string, string> = {
  background: "background responses are not supported",
  conversation: "conversations are not supported; use previous_response_id",
  prompt: "prompt templates are not supported",
  top_logprobs: "log probabilities are not available through the gateway",
}

type Item = { type?: unknown; role?: unknown; content?: unknown; call_id?: unknown; output?: unknown }

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? (content as { text?: unknown }[]).map((part) => (typeof part?.text === "string" ? part.text : "")).join("")
      : ""

const imagesOf = (content: unknown): string[] =>
  Array.isArray(content)
    ? (content as { type?: unknown; image_url?: unknown }[]).flatMap((part) =>
        part?.type === "input_image" && typeof part.image_url === "string" ? [part.image_url] : [],
      )
    : []

/** `resp_<turn id>` or `resp_<turn id>-<segment>` → the turn id. */
const turnOf = (responseId: string): string | null => /^resp_(.+?)(?:-\d+)?$/.exec(responseId)?.[1] ?? null

function items(body: Body): Item[] {
  return typeof body.input === "string" ? [{ role: "user", content: body.input }] : (body.input as Item[])
}

/** The turn's input text (with earlier items and instructions as a transcript for a new session). */
function inputFor(list: Item[], instructions: string | null | undefined, fresh: boolean): string | null {
  const lastUser = list.findLastIndex((item) => item.role === "user")
  if (lastUser < 0) return null
  const text = textOf(list[lastUser]!.content)
  if (!fresh) return text
  const earlier = [
    ...(instructions ? [`instructions: ${instructions}`] : []),
    ...list
      .slice(0, lastUser)
      .filter((item) => typeof item.role === "string" && textOf(item.content))
      .map((item) => `${String(item.role)}: ${textOf(item.content)}`),
  ]
  return earlier.length ? `Earlier conversation (from the client):\n${earlier.join("\n")}\n\n${text}` : text
}

function params(body: Body, kind: string) {
  const record = body as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (record[key] === undefined || record[key] === null) continue
    if (REFUSED[key] && record[key] !== false) throw new ParamError(key, REFUSED[key]!, "unsupported_parameter")
    if (!USED.includes(key) && !IGNORED.includes(key) && !REFUSED[key])
      throw new ParamError(key, `Unrecognized request argument supplied: ${key}`, "unknown_parameter")
  }
  const tools = toolsOf(body.tools)
  return {
    tools,
    options: compact({
      maxTokens: tokens(record, "max_output_tokens"),
      temperature: number(record, "temperature", 0, 2),
      topP: number(record, "top_p", 0, 1),
      responseFormat: formatOf(body.text?.format, "text.format", kind),
      toolChoice: toolChoiceOf(body.tool_choice, tools),
    }),
  }
}

const usageOf = (usage: Usage) => ({
  input_tokens: usage.input,
  input_tokens_details: { cached_tokens: usage.cached },
  output_tokens: usage.output,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: usage.input + usage.output,
})

const args = (call: ToolCallPart) => (typeof call.args === "string" ? call.args : JSON.stringify(call.args))

const messageItem = (id: string, text: string, status = "completed") => ({
  id,
  type: "message" as const,
  role: "assistant" as const,
  status,
  content: status === "completed" ? [{ type: "output_text" as const, text, annotations: [] }] : [],
})

const callItem = (call: ToolCallPart, status = "completed") => ({
  id: `fc_${call.id}`,
  type: "function_call" as const,
  call_id: call.id,
  name: call.name,
  arguments: status === "completed" ? args(call) : "",
  status,
})

interface Meta {
  id: string
  created: number
  model: string
  previous: string | null
  headers: Record<string, string>
}

function responseObject(meta: Meta, status: string, output: unknown[], usage: Usage | null, error: unknown = null) {
  return {
    id: meta.id,
    object: "response",
    created_at: meta.created,
    status,
    model: meta.model,
    output,
    previous_response_id: meta.previous,
    error,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    top_p: null,
    tool_choice: "auto",
    tools: [],
    text: { format: { type: "text" } },
    usage: usage ? usageOf(usage) : null,
  }
}

const failureOf = (end: Extract<SegmentEnd, { type: "done" }>) => ({
  code: `turn_${end.result.status}`,
  message: `the turn ${end.result.status}: ${end.result.reason ?? "unknown reason"}`,
})

async function whole(segment: Segment, meta: Meta): Promise<Response> {
  const end = await segment.ended
  if (end.type === "done" && end.result.status !== "completed") {
    const failure = failureOf(end)
    return openaiError(502, failure.message, failure.code)
  }
  const output =
    end.type === "calls"
      ? [...(end.text ? [messageItem(`msg_${meta.id}`, end.text)] : []), ...end.calls.map((call) => callItem(call))]
      : [messageItem(`msg_${meta.id}`, end.result.text)]
  return Response.json(responseObject(meta, "completed", output, segment.usage()), { headers: meta.headers })
}

function streamed(segment: Segment, meta: Meta, signal: AbortSignal): Response {
  const encoder = new TextEncoder()
  let sequence = 0
  const event = (type: string, data: Record<string, unknown>) =>
    encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`)
  let stop = () => {}
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true
      const write = (bytes: Uint8Array) => {
        if (open) controller.enqueue(bytes)
      }
      const end = () => {
        if (!open) return
        open = false
        stop()
        controller.close()
      }
      const output: unknown[] = []
      const messageId = `msg_${meta.id}`
      let text: string | null = null
      write(event("response.created", { response: responseObject(meta, "in_progress", [], null) }))
      write(event("response.in_progress", { response: responseObject(meta, "in_progress", [], null) }))
      const where = () => ({ item_id: messageId, output_index: 0, content_index: 0 })
      stop = segment.onDelta((delta, afterTool) => {
        if (text === null) {
          text = ""
          write(
            event("response.output_item.added", { output_index: 0, item: messageItem(messageId, "", "in_progress") }),
          )
          write(
            event("response.content_part.added", {
              ...where(),
              part: { type: "output_text", text: "", annotations: [] },
            }),
          )
        }
        const piece = `${afterTool && text ? "\n\n" : ""}${delta}`
        text += piece
        write(event("response.output_text.delta", { ...where(), delta: piece, logprobs: [] }))
      })
      signal.addEventListener("abort", end, { once: true })
      segment.ended.then((result) => {
        if (text !== null) {
          const part = { type: "output_text", text, annotations: [] }
          write(event("response.output_text.done", { ...where(), text, logprobs: [] }))
          write(event("response.content_part.done", { ...where(), part }))
          const item = messageItem(messageId, text)
          write(event("response.output_item.done", { output_index: 0, item }))
          output.push(item)
        }
        if (result.type === "done" && result.result.status !== "completed") {
          write(
            event("response.failed", {
              response: responseObject(meta, "failed", output, segment.usage(), failureOf(result)),
            }),
          )
          return end()
        }
        if (result.type === "calls")
          for (const call of result.calls) {
            const index = output.length
            const item = callItem(call)
            write(event("response.output_item.added", { output_index: index, item: callItem(call, "in_progress") }))
            write(
              event("response.function_call_arguments.delta", {
                item_id: item.id,
                output_index: index,
                delta: item.arguments,
              }),
            )
            write(
              event("response.function_call_arguments.done", {
                item_id: item.id,
                output_index: index,
                arguments: item.arguments,
              }),
            )
            write(event("response.output_item.done", { output_index: index, item }))
            output.push(item)
          }
        write(event("response.completed", { response: responseObject(meta, "completed", output, segment.usage()) }))
        end()
      })
    },
    cancel() {
      stop()
    },
  })
  return new Response(stream, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...meta.headers },
  })
}

/** The handler of POST /v1/responses. */
export async function createResponse(shared: Shared, body: Body, request: Request): Promise<Response> {
  const { gw, turns } = shared
  const previous = body.previous_response_id ?? null
  let header = request.headers.get("x-drost-session")
  if (previous && !header) {
    const turnId = turnOf(previous)
    const turn = turnId ? await gw.data.sessions.turn(turnId) : null
    if (!turn)
      return openaiError(
        404,
        `Previous response with id '${previous}' not found.`,
        "previous_response_not_found",
        "previous_response_id",
      )
    header = turn.sessionId
  }
  const target = await shared.targetFor(body.model, header, body.user)
  if (target instanceof Response) return target
  let parsed: ReturnType<typeof params>
  try {
    parsed = params(body, shared.kindFor(target))
  } catch (error) {
    if (error instanceof ParamError) return error.response()
    throw error
  }
  const created = Math.floor(Date.now() / 1000)
  const reply = (segment: Segment) => {
    const meta = {
      id: `resp_${segment.turnId}${segment.index > 1 ? `-${segment.index}` : ""}`,
      created,
      model: body.model,
      previous,
      headers: { "x-drost-session": segment.sessionId },
    }
    return body.stream ? streamed(segment, meta, request.signal) : whole(segment, meta)
  }
  const list = items(body)
  const results = new Map<string, ClientToolResult>()
  for (const item of list)
    if (item.type === "function_call_output" && typeof item.call_id === "string")
      results.set(item.call_id, {
        output: typeof item.output === "string" ? item.output : JSON.stringify(item.output ?? ""),
        isError: false,
      })
  const paused = results.size ? turns.waitingFor([...results.keys()]) : null
  if (paused) return reply(turns.resume(paused, results))
  const lastUser = list.findLastIndex((item) => item.role === "user")
  const images =
    lastUser < 0 ? [] : await fetchImages(imagesOf(list[lastUser]!.content), gw, `input.${lastUser}.content`)
  if (images instanceof Response) return images
  const { session, fresh } = await shared.open(target)
  const input = inputFor(list, body.instructions, fresh)
  if (input === null)
    return openaiError(
      400,
      results.size
        ? "no turn waits for these function_call_output items (unknown call_id, or the turn ended); send a user message"
        : "input must contain a user message",
      results.size ? "unknown_call_id" : "no_user_message",
      "input",
    )
  turns.supersede(session.id)
  const client = parsed.tools.length ? turns.tools(session.id, parsed.tools) : null
  const accepted = await gw.sessions.prompt({
    sessionId: session.id,
    text: input,
    images,
    source: "openai",
    options: parsed.options,
    ...(client ? { client } : {}),
  })
  return reply(turns.start(accepted, client))
}
