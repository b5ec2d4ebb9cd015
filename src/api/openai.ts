/**
 * An OpenAI-compatible endpoint (`POST /v1/chat/completions`, `GET /v1/models`) so any OpenAI client can
 * talk to the gateway. It is a front for sessions, not a proxy: the request's last user message becomes
 * a turn in a Drost session, tools run inside the gateway between model steps, and the client sees the
 * answer (streamed as `chat.completion.chunk`s, or whole). Off unless `controlApi.openaiCompatible`.
 *
 * Which session: the `X-Drost-Session` header names one; else the `user` field keeps one session per
 * user (channel `openai`); else each request gets a fresh session seeded with the request's earlier
 * messages. `model` is `drost` (the default provider) or a provider profile id.
 */
import { Elysia, t } from "elysia"
import { ToolEvent, TurnEvent } from "../agent/events.ts"
import type { Accepted } from "../agent/session.ts"
import type { Gateway } from "../gateway/gateway.ts"
import { openaiError, toOpenAIShape } from "./openai-errors.ts"
import type { Session } from "./schemas.ts"

export const DEFAULT_MODEL = "drost"

const ContentPart = t.Object({ type: t.String(), text: t.Optional(t.String()) }, { additionalProperties: true })
const ChatMessage = t.Object(
  {
    role: t.String({ description: "system, developer, user, assistant or tool" }),
    content: t.Optional(t.Union([t.String(), t.Array(ContentPart), t.Null()])),
  },
  { additionalProperties: true },
)

const CompletionBody = t.Object(
  {
    model: t.String({ description: `\`${DEFAULT_MODEL}\` or a provider profile id (see GET /v1/models)` }),
    messages: t.Array(ChatMessage, { minItems: 1 }),
    stream: t.Optional(t.Boolean()),
    stream_options: t.Optional(t.Object({ include_usage: t.Optional(t.Boolean()) }, { additionalProperties: true })),
    user: t.Optional(t.String({ maxLength: 256, description: "Keeps one Drost session per user" })),
  },
  {
    additionalProperties: true,
    examples: [{ model: "drost", user: "alice", messages: [{ role: "user", content: "list files" }] }],
  },
)

const ModelObject = t.Object({ id: t.String(), object: t.Literal("model"), created: t.Number(), owned_by: t.String() })

type Body = typeof CompletionBody.static
type ChatMessageBody = Body["messages"][number]

function textOf(message: ChatMessageBody): string {
  if (typeof message.content === "string") return message.content
  if (Array.isArray(message.content)) return message.content.map((part) => part.text ?? "").join("")
  return ""
}

/** The turn's input: the last user message, plus the earlier ones when the session is new. */
function inputFor(messages: ChatMessageBody[], fresh: boolean): string | null {
  const lastUser = messages.findLastIndex((message) => message.role === "user")
  if (lastUser < 0) return null
  const input = textOf(messages[lastUser]!)
  const earlier = fresh ? messages.slice(0, lastUser).filter((message) => textOf(message)) : []
  if (earlier.length === 0) return input
  const transcript = earlier.map((message) => `${message.role}: ${textOf(message)}`).join("\n")
  return `Earlier conversation (from the client):\n${transcript}\n\n${input}`
}

export function openaiRoutes(gw: Gateway, enabled: boolean) {
  if (!enabled) return new Elysia({ name: "openai-compatible-off" })
  const models = () => [DEFAULT_MODEL, ...gw.config.providers.profiles.map((profile) => profile.id)]

  const sessionFor = (
    body: Body,
    header: string | null,
    provider: string | undefined,
  ): { session: typeof Session.static; fresh: boolean } => {
    if (header) return { session: gw.sessions.get(header), fresh: false }
    if (body.user) {
      const existing = gw.store.byChannelKey("openai", body.user)
      if (existing) return { session: existing, fresh: false }
      return {
        session: gw.sessions.create({
          channel: "openai",
          channelKey: body.user,
          title: `openai: ${body.user}`,
          provider,
        }),
        fresh: true,
      }
    }
    return { session: gw.sessions.create({ channel: "openai", title: "openai", provider }), fresh: true }
  }

  const model = (id: string) => ({
    id,
    object: "model" as const,
    created: Math.floor(gw.startedAt / 1000),
    owned_by: "drost",
  })

  return (
    new Elysia({ name: "openai-compatible", prefix: "/v1" })
      // Every error under /v1 (validation, parse, too large, unknown session, internal) in OpenAI's shape.
      .mapResponse({ as: "scoped" }, ({ response }) =>
        response instanceof Response ? toOpenAIShape(response) : undefined,
      )
      .get("/models", () => ({ object: "list" as const, data: models().map(model) }), {
        response: {
          200: t.Object({
            object: t.Literal("list"),
            data: t.Array(ModelObject),
          }),
        },
        detail: {
          operationId: "openaiListModels",
          tags: ["openai"],
          summary: "Models (OpenAI-compatible)",
          description: `\`${DEFAULT_MODEL}\` (the default provider) and every provider profile id.`,
        },
      })
      .get(
        "/models/:model",
        ({ params }) =>
          models().includes(params.model)
            ? model(params.model)
            : openaiError(
                404,
                `The model "${params.model}" does not exist; use one of: ${models().join(", ")}`,
                "model_not_found",
                "model",
              ),
        {
          params: t.Object({ model: t.String() }),
          response: { 200: ModelObject },
          detail: {
            operationId: "openaiGetModel",
            tags: ["openai"],
            summary: "One model (OpenAI-compatible)",
            description: "The model object for an id GET /v1/models lists; 404 `model_not_found` otherwise.",
            responses: { 404: { description: "Unknown model (OpenAI error shape)" } },
          },
        },
      )
      .post(
        "/chat/completions",
        async ({ body, request }) => {
          if (!models().includes(body.model))
            return openaiError(
              404,
              `The model "${body.model}" does not exist; use one of: ${models().join(", ")}`,
              "model_not_found",
              "model",
            )
          const provider = body.model === DEFAULT_MODEL ? undefined : body.model
          if (provider && !gw.providers.has(provider))
            return openaiError(503, `provider "${provider}" is configured but not available`, "provider_unavailable")
          const { session, fresh } = sessionFor(body, request.headers.get("x-drost-session"), provider)
          if (provider && session.provider !== provider && !fresh) gw.sessions.switchProvider(session.id, provider)
          const input = inputFor(body.messages, fresh)
          if (!input)
            return openaiError(400, "messages must contain a user message with text", "no_user_message", "messages")
          const accepted = gw.sessions.prompt({ sessionId: session.id, text: input, source: "openai" })
          const id = `chatcmpl-${accepted.turn.id}`
          const created = Math.floor(Date.now() / 1000)
          const headers = { "x-drost-session": session.id }
          if (body.stream)
            return streamCompletion(gw, accepted, {
              id,
              created,
              model: body.model,
              usage: body.stream_options?.include_usage === true,
              headers,
              signal: request.signal,
            })
          const result = await accepted.done
          if (result.status !== "completed")
            return openaiError(
              502,
              `the turn ${result.status}: ${result.reason ?? "unknown reason"}`,
              `turn_${result.status}`,
            )
          const usage = gw.store.turn(accepted.turn.id)?.usage ?? { input: 0, output: 0, cached: 0 }
          return Response.json(
            {
              id,
              object: "chat.completion",
              created,
              model: body.model,
              choices: [
                {
                  index: 0,
                  message: { role: "assistant", content: result.text, refusal: null },
                  finish_reason: "stop",
                  logprobs: null,
                },
              ],
              usage: {
                prompt_tokens: usage.input,
                completion_tokens: usage.output,
                total_tokens: usage.input + usage.output,
              },
            },
            { headers },
          )
        },
        {
          body: CompletionBody,
          detail: {
            operationId: "openaiChatCompletions",
            tags: ["openai"],
            summary: "Chat completion (OpenAI-compatible)",
            description:
              "Runs a turn in a Drost session; tools run inside the gateway. `stream: true` sends `chat.completion.chunk` events and `[DONE]`; the text of every model step streams (steps separated by a blank line), while the non-streaming `content` is the final step's answer. The session id comes back in the `X-Drost-Session` header.",
            responses: {
              200: { description: "chat.completion, or text/event-stream of chat.completion.chunk" },
              404: { description: "Unknown model or session" },
              502: { description: "The turn failed (provider error, abort)" },
            },
          },
        },
      )
      .all(
        "/*",
        ({ request }) =>
          openaiError(
            404,
            `no route ${request.method} ${new URL(request.url).pathname} in the OpenAI-compatible API`,
            "unknown_url",
          ),
        { detail: { hide: true } },
      )
  )
}

interface StreamOptions {
  id: string
  created: number
  model: string
  usage: boolean
  headers: Record<string, string>
  signal: AbortSignal
}

function streamCompletion(gw: Gateway, accepted: Accepted, options: StreamOptions): Response {
  const encoder = new TextEncoder()
  const turnId = accepted.turn.id
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    encoder.encode(
      `data: ${JSON.stringify({ id: options.id, object: "chat.completion.chunk", created: options.created, model: options.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra })}\n\n`,
    )
  let stops: (() => void)[] = []
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true
      let separate = false
      const write = (bytes: Uint8Array) => {
        if (open) controller.enqueue(bytes)
      }
      const end = () => {
        if (!open) return
        open = false
        for (const stop of stops) stop()
        controller.close()
      }
      write(chunk({ role: "assistant", content: "" }))
      stops = [
        gw.bus.subscribe(TurnEvent.Delta, (event) => {
          if (event.data.turnId !== turnId || !event.data.text) return
          write(chunk({ content: `${separate ? "\n\n" : ""}${event.data.text}` }))
          separate = false
        }),
        gw.bus.subscribe(ToolEvent.Completed, (event) => {
          if (event.data.turnId === turnId) separate = true
        }),
      ]
      options.signal.addEventListener("abort", end, { once: true })
      accepted.done.then((result) => {
        if (result.status === "completed") {
          write(chunk({}, "stop"))
          if (options.usage) {
            const usage = gw.store.turn(turnId)?.usage ?? { input: 0, output: 0, cached: 0 }
            write(
              encoder.encode(
                `data: ${JSON.stringify({ id: options.id, object: "chat.completion.chunk", created: options.created, model: options.model, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } })}\n\n`,
              ),
            )
          }
        } else {
          write(
            encoder.encode(
              `data: ${JSON.stringify({ error: { message: `the turn ${result.status}: ${result.reason ?? "unknown reason"}`, type: "server_error", code: `turn_${result.status}` } })}\n\n`,
            ),
          )
        }
        write(encoder.encode("data: [DONE]\n\n"))
        end()
      })
    },
    cancel() {
      for (const stop of stops) stop()
    },
  })
  return new Response(stream, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...options.headers },
  })
}
