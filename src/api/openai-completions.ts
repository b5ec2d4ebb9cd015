/**
 * Chat Completions on the wire: what a request's `messages` mean for the session (the new input, its
 * images, the results of client tool calls), and the answer for one segment of a turn, whole
 * (`chat.completion`) or streamed (`chat.completion.chunk`s and `[DONE]`). A segment that ends in
 * client tool calls answers `finish_reason: "tool_calls"` with the calls in OpenAI's shape.
 */
import type { ClientToolResult } from "../agent/client-tools.ts"
import type { ToolCallPart, Usage } from "../core/message.ts"
import { openaiError } from "./openai-errors.ts"
import type { Segment, SegmentEnd } from "./openai-turns.ts"

export interface ChatMessageBody {
  role: string
  content?: unknown
  tool_calls?: unknown
  tool_call_id?: unknown
  name?: unknown
}

interface ContentPart {
  type?: unknown
  text?: unknown
  image_url?: unknown
}

/** The text of a message's content (a string, or text parts). */
export function textOf(message: ChatMessageBody): string {
  if (typeof message.content === "string") return message.content
  if (Array.isArray(message.content))
    return (message.content as ContentPart[]).map((part) => (typeof part?.text === "string" ? part.text : "")).join("")
  return ""
}

/** The `image_url` URLs of a message's content parts, in order. */
export function imageUrlsOf(message: ChatMessageBody): string[] {
  if (!Array.isArray(message.content)) return []
  return (message.content as ContentPart[]).flatMap((part) => {
    if (part?.type !== "image_url") return []
    const image = part.image_url as { url?: unknown } | string | undefined
    const url = typeof image === "string" ? image : image?.url
    return typeof url === "string" ? [url] : []
  })
}

function callsOf(message: ChatMessageBody): { id: string; name: string; args: string }[] {
  if (!Array.isArray(message.tool_calls)) return []
  return (message.tool_calls as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }[]).map((call) => ({
    id: String(call?.id ?? ""),
    name: String(call?.function?.name ?? ""),
    args: typeof call?.function?.arguments === "string" ? call.function.arguments : "{}",
  }))
}

/** One line of a transcript, tool calls and results included. */
function line(message: ChatMessageBody): string {
  if (message.role === "tool") return `tool result (${String(message.tool_call_id ?? "")}): ${textOf(message)}`
  const calls = callsOf(message).map((call) => `called ${call.name}(${call.args})`)
  return `${message.role}: ${[textOf(message), ...calls].filter(Boolean).join(" ")}`
}

/**
 * The results of client tool calls at the end of the conversation: the `tool` messages after the last
 * assistant message, by call id.
 */
export function trailingResults(messages: ChatMessageBody[]): Map<string, ClientToolResult> {
  const results = new Map<string, ClientToolResult>()
  const lastAssistant = messages.findLastIndex((message) => message.role === "assistant")
  if (lastAssistant < 0) return results
  for (const message of messages.slice(lastAssistant + 1))
    if (message.role === "tool" && typeof message.tool_call_id === "string")
      results.set(message.tool_call_id, { output: textOf(message), isError: false })
  return results
}

/**
 * The turn's input: the last user message; for a new session the earlier messages too, as a transcript;
 * and whatever followed the last user message (tool calls and results the gateway no longer waits for).
 */
export function inputFor(messages: ChatMessageBody[], fresh: boolean): { text: string; index: number } | null {
  const lastUser = messages.findLastIndex((message) => message.role === "user")
  if (lastUser < 0) return null
  const input = textOf(messages[lastUser]!)
  const earlier = fresh
    ? messages.slice(0, lastUser).filter((message) => textOf(message) || callsOf(message).length)
    : []
  const later = messages.slice(lastUser + 1)
  let text = input
  if (earlier.length) text = `Earlier conversation (from the client):\n${earlier.map(line).join("\n")}\n\n${text}`
  if (later.length) text = `${text}\n\nSince then (from the client):\n${later.map(line).join("\n")}`
  return { text, index: lastUser }
}

export interface CompletionMeta {
  id: string
  created: number
  model: string
  headers: Record<string, string>
}

const usageOf = (usage: Usage) => ({
  prompt_tokens: usage.input,
  completion_tokens: usage.output,
  total_tokens: usage.input + usage.output,
})

const wireCalls = (calls: ToolCallPart[]) =>
  calls.map((call) => ({
    id: call.id,
    type: "function" as const,
    function: { name: call.name, arguments: typeof call.args === "string" ? call.args : JSON.stringify(call.args) },
  }))

const failure = (end: Extract<SegmentEnd, { type: "done" }>) =>
  `the turn ${end.result.status}: ${end.result.reason ?? "unknown reason"}`

/** The whole answer of one segment. */
export async function completion(segment: Segment, meta: CompletionMeta): Promise<Response> {
  const end = await segment.ended
  if (end.type === "done" && end.result.status !== "completed")
    return openaiError(502, failure(end), `turn_${end.result.status}`)
  const message =
    end.type === "calls"
      ? { role: "assistant", content: end.text || null, refusal: null, tool_calls: wireCalls(end.calls) }
      : { role: "assistant", content: end.result.text, refusal: null }
  return Response.json(
    {
      id: meta.id,
      object: "chat.completion",
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, message, finish_reason: end.type === "calls" ? "tool_calls" : "stop", logprobs: null }],
      usage: usageOf(segment.usage()),
    },
    { headers: meta.headers },
  )
}

/**
 * One segment as `chat.completion.chunk` events: `role` in the first chunk, `index` on every choice and
 * tool call (the openai helpers need them), the finish, usage when asked for, then `[DONE]`.
 */
export function streamedCompletion(
  segment: Segment,
  meta: CompletionMeta & { includeUsage: boolean; signal: AbortSignal },
): Response {
  const encoder = new TextEncoder()
  const frame = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`)
  const base = { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model }
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    frame({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })
  let stop = () => {}
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true
      let wrote = false
      const write = (bytes: Uint8Array) => {
        if (open) controller.enqueue(bytes)
      }
      const end = () => {
        if (!open) return
        open = false
        stop()
        controller.close()
      }
      write(chunk({ role: "assistant", content: "" }))
      stop = segment.onDelta((text, afterTool) => {
        write(chunk({ content: `${afterTool && wrote ? "\n\n" : ""}${text}` }))
        wrote = true
      })
      meta.signal.addEventListener("abort", end, { once: true })
      segment.ended.then((result) => {
        if (result.type === "done" && result.result.status !== "completed") {
          write(
            frame({
              error: {
                message: failure(result),
                type: "server_error",
                param: null,
                code: `turn_${result.result.status}`,
              },
            }),
          )
        } else {
          if (result.type === "calls")
            write(chunk({ tool_calls: wireCalls(result.calls).map((call, index) => ({ index, ...call })) }))
          write(chunk({}, result.type === "calls" ? "tool_calls" : "stop"))
          if (meta.includeUsage) write(frame({ ...base, choices: [], usage: usageOf(segment.usage()) }))
        }
        write(encoder.encode("data: [DONE]\n\n"))
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
