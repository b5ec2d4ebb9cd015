/**
 * An OpenAI-compatible endpoint (`POST /v1/chat/completions`, `POST /v1/responses`, `GET /v1/models`)
 * so any OpenAI client can talk to the gateway. It is a front for sessions, not a proxy: the request's
 * last user message becomes a turn in a Drost session, the gateway's tools run inside the gateway
 * between model steps, and the client sees the answer (streamed, or whole). Tools the client sends are
 * offered beside the gateway's; a call to one ends the answer with the call, and the client's next
 * request with its result resumes the turn (openai-turns.ts). Off unless `controlApi.openaiCompatible`.
 *
 * Which session: the `X-Drost-Session` header names one; else the `user` field keeps one session per
 * user (channel `openai`); else each request gets a fresh session seeded with the request's earlier
 * messages. `model` is `drost` (the default provider) or a provider profile id. Parameters: openai-params.ts
 * and the compatibility table in docs/control-api.md.
 */
import { Elysia, t } from "elysia"
import type { Gateway } from "../gateway/gateway.ts"
import {
  type ChatMessageBody,
  completion,
  imageUrlsOf,
  inputFor,
  streamedCompletion,
  trailingResults,
} from "./openai-completions.ts"
import { openaiError, toOpenAIShape } from "./openai-errors.ts"
import { fetchImages } from "./openai-images.ts"
import { type ChatParams, chatParams, ParamError } from "./openai-params.ts"
import { createResponse, ResponsesBody } from "./openai-responses.ts"
import { createClientTurns, type Segment } from "./openai-turns.ts"
import type { Session } from "./schemas.ts"

export const DEFAULT_MODEL = "drost"

const ContentPart = t.Object(
  {
    type: t.String({ description: "text or image_url" }),
    text: t.Optional(t.String()),
    image_url: t.Optional(
      t.Union([
        t.Object({ url: t.String({ description: "data: or http(s) URL" }) }, { additionalProperties: true }),
        t.String({ description: "data: or http(s) URL (the older shape some clients send)" }),
      ]),
    ),
  },
  { additionalProperties: true },
)
const ChatMessage = t.Object(
  {
    role: t.String({ description: "system, developer, user, assistant or tool" }),
    content: t.Optional(t.Union([t.String(), t.Array(ContentPart), t.Null()])),
    tool_calls: t.Optional(t.Array(t.Object({}, { additionalProperties: true }))),
    tool_call_id: t.Optional(t.String({ description: "role tool: the call this message answers" })),
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
    tools: t.Optional(
      t.Array(t.Object({}, { additionalProperties: true }), { description: "Client (function) tools" }),
    ),
    tool_choice: t.Optional(t.Unknown({ description: "auto, none, required or a function by name" })),
    max_tokens: t.Optional(t.Union([t.Integer(), t.Null()])),
    max_completion_tokens: t.Optional(t.Union([t.Integer(), t.Null()])),
    temperature: t.Optional(t.Union([t.Number(), t.Null()])),
    top_p: t.Optional(t.Union([t.Number(), t.Null()])),
    stop: t.Optional(t.Union([t.String(), t.Array(t.String()), t.Null()])),
    response_format: t.Optional(t.Unknown({ description: "text, json_object or json_schema" })),
    n: t.Optional(t.Union([t.Integer(), t.Null()], { description: "1 only" })),
  },
  {
    additionalProperties: true,
    examples: [{ model: "drost", user: "alice", messages: [{ role: "user", content: "list files" }] }],
  },
)

const ModelObject = t.Object({ id: t.String(), object: t.Literal("model"), created: t.Number(), owned_by: t.String() })

/** Where a request's turn goes: an existing session, or one to create once the request is known to be valid. */
export interface Target {
  session: typeof Session.static | null
  create: () => Promise<typeof Session.static>
  provider: string | undefined
}

export function openaiRoutes(gw: Gateway, enabled: boolean) {
  if (!enabled) return new Elysia({ name: "openai-compatible-off" })
  const models = () => [DEFAULT_MODEL, ...gw.config.providers.profiles.map((profile) => profile.id)]
  const turns = createClientTurns(gw, gw.config.controlApi.openaiToolWaitMs)
  const model = (id: string) => ({
    id,
    object: "model" as const,
    created: Math.floor(gw.startedAt / 1000),
    owned_by: "drost",
  })
  const unknownModel = (id: string) =>
    openaiError(404, `The model "${id}" does not exist; use one of: ${models().join(", ")}`, "model_not_found", "model")

  /** The session a request names (header, `user`) if it exists, and how to create it otherwise. */
  const targetFor = async (id: string, header: string | null, user: string | undefined): Promise<Target | Response> => {
    if (!models().includes(id)) return unknownModel(id)
    const provider = id === DEFAULT_MODEL ? undefined : id
    if (provider && !gw.providers.has(provider))
      return openaiError(503, `provider "${provider}" is configured but not available`, "provider_unavailable")
    if (header) {
      const session = await gw.sessions.get(header)
      return { session, create: async () => session, provider }
    }
    const existing = user ? await gw.data.sessions.byChannelKey("openai", user) : null
    return {
      session: existing,
      provider,
      create: () =>
        gw.sessions.create({
          channel: "openai",
          title: user ? `openai: ${user}` : "openai",
          provider,
          ...(user ? { channelKey: user } : {}),
        }),
    }
  }

  /** The kind of provider the turn will run on (some parameters depend on it). */
  const kindFor = (target: Target): string => {
    const id = target.provider ?? target.session?.provider ?? gw.config.providers.defaultSessionProvider
    return gw.providers.get(id)?.kind ?? "unknown"
  }

  /** The session to run in, created now if needed, switched to the requested provider. */
  const open = async (target: Target): Promise<{ session: typeof Session.static; fresh: boolean }> => {
    const fresh = target.session === null
    const session = target.session ?? (await target.create())
    if (target.provider && session.provider !== target.provider && !fresh)
      await gw.sessions.switchProvider(session.id, target.provider)
    return { session, fresh }
  }

  const shared: Shared = { gw, turns, targetFor, kindFor, open }

  return (
    new Elysia({ name: "openai-compatible", prefix: "/v1" })
      // Every error under /v1 (validation, parse, too large, unknown session, internal) in OpenAI's shape.
      .mapResponse({ as: "scoped" }, ({ response }) =>
        response instanceof Response ? toOpenAIShape(response) : undefined,
      )
      .get("/models", () => ({ object: "list" as const, data: models().map(model) }), {
        response: { 200: t.Object({ object: t.Literal("list"), data: t.Array(ModelObject) }) },
        detail: {
          operationId: "openaiListModels",
          tags: ["openai"],
          summary: "Models (OpenAI-compatible)",
          description: `\`${DEFAULT_MODEL}\` (the default provider) and every provider profile id.`,
        },
      })
      .get(
        "/models/:model",
        ({ params }) => (models().includes(params.model) ? model(params.model) : unknownModel(params.model)),
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
          const target = await targetFor(body.model, request.headers.get("x-drost-session"), body.user)
          if (target instanceof Response) return target
          const messages = body.messages as ChatMessageBody[]
          let params: ChatParams
          try {
            params = chatParams(body as Record<string, unknown>, kindFor(target))
          } catch (error) {
            if (error instanceof ParamError) return error.response()
            throw error
          }
          const created = Math.floor(Date.now() / 1000)
          const reply = (segment: Segment) => {
            const meta = {
              id: `chatcmpl-${segment.turnId}${segment.index > 1 ? `-${segment.index}` : ""}`,
              created,
              model: body.model,
              headers: { "x-drost-session": segment.sessionId },
            }
            return body.stream
              ? streamedCompletion(segment, { ...meta, includeUsage: params.includeUsage, signal: request.signal })
              : completion(segment, meta)
          }
          // The results of client tool calls resume the turn that waits for them.
          const results = trailingResults(messages)
          const paused = results.size ? turns.waitingFor([...results.keys()]) : null
          if (paused) return reply(turns.resume(paused, results))
          const lastUser = messages.findLastIndex((message) => message.role === "user")
          const images =
            lastUser < 0 ? [] : await fetchImages(imageUrlsOf(messages[lastUser]!), gw, `messages.${lastUser}.content`)
          if (images instanceof Response) return images
          const { session, fresh } = await open(target)
          const input = inputFor(messages, fresh)
          if (!input) return openaiError(400, "messages must contain a user message", "no_user_message", "messages")
          turns.supersede(session.id)
          const client = params.tools.length ? turns.tools(session.id, params.tools) : null
          const accepted = await gw.sessions.prompt({
            sessionId: session.id,
            text: input.text,
            images,
            source: "openai",
            options: params.options,
            ...(client ? { client } : {}),
          })
          return reply(turns.start(accepted, client))
        },
        {
          body: CompletionBody,
          detail: {
            operationId: "openaiChatCompletions",
            tags: ["openai"],
            summary: "Chat completion (OpenAI-compatible)",
            description:
              'Runs a turn in a Drost session; the gateway\'s tools run inside the gateway. Client `tools` are offered beside them: a call to one ends the answer with `finish_reason: "tool_calls"`, and the next request\'s `role: "tool"` messages resume the turn. `stream: true` sends `chat.completion.chunk` events and `[DONE]`; the text of every model step streams (steps separated by a blank line), while the non-streaming `content` is the final step\'s answer. The session id comes back in the `X-Drost-Session` header. Parameters: see the compatibility table in docs/control-api.md.',
            responses: {
              200: { description: "chat.completion, or text/event-stream of chat.completion.chunk" },
              400: { description: "A parameter that cannot be honoured (OpenAI error shape, `param` names it)" },
              404: { description: "Unknown model or session" },
              502: { description: "The turn failed (provider error, abort)" },
            },
          },
        },
      )
      .post("/responses", ({ body, request }) => createResponse(shared, body, request), {
        body: ResponsesBody,
        detail: {
          operationId: "openaiCreateResponse",
          tags: ["openai"],
          summary: "Create a response (OpenAI Responses API)",
          description:
            "Runs a turn in a Drost session like chat completions. `previous_response_id` continues in the session of that response; function `tools` are the client's (a call ends the response with `function_call` items, and `function_call_output` items in the next request resume the turn). `stream: true` sends the Responses events from `response.created` to `response.completed`.",
          responses: {
            200: { description: "A response object, or text/event-stream of Responses events" },
            400: { description: "A parameter that cannot be honoured (OpenAI error shape)" },
            404: { description: "Unknown model, session or previous response" },
            502: { description: "The turn failed" },
          },
        },
      })
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

export type Shared = {
  gw: Gateway
  turns: ReturnType<typeof createClientTurns>
  targetFor: (id: string, header: string | null, user: string | undefined) => Promise<Target | Response>
  kindFor: (target: Target) => string
  open: (target: Target) => Promise<{ session: typeof Session.static; fresh: boolean }>
}
