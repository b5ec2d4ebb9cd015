/**
 * The request parameters of the OpenAI-compatible endpoint: which are used, which are refused and which
 * are accepted without effect, as docs/control-api.md's compatibility table says (keep the two in step).
 * Like OpenAI, a field it does not know is refused (`unknown_parameter`) rather than silently dropped, so a
 * client never believes a setting took effect when it did not.
 */
import type { GenerationOptions, ToolSpec } from "../core/provider.ts"
import { openaiError } from "./openai-errors.ts"

/** A refusal: OpenAI's 400 with the field in `param`. */
export class ParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
    readonly code: string = "invalid_value",
  ) {
    super(message)
  }
  response(): Response {
    return openaiError(400, this.message, this.code, this.param)
  }
}

/** Chat Completions fields that are accepted and have no effect here (see the compatibility table). */
const IGNORED = [
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "seed",
  "metadata",
  "store",
  "service_tier",
  "parallel_tool_calls",
  "reasoning_effort",
  "verbosity",
  "prompt_cache_key",
  "prompt_cache_retention",
  "safety_identifier",
]
const USED = [
  "model",
  "messages",
  "stream",
  "stream_options",
  "user",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "response_format",
  "tools",
  "tool_choice",
  "n",
  "logprobs",
  "top_logprobs",
]
/** Fields refused whenever they are set: what they ask for cannot be given. */
const REFUSED: Record<string, string> = {
  audio: "audio output is not supported",
  modalities: "only text output is supported",
  prediction: "predicted outputs are not supported",
  functions: "`functions` is deprecated; send `tools` instead",
  function_call: "`function_call` is deprecated; send `tool_choice` instead",
  web_search_options: "web search options are not supported; the gateway's own tools search the web",
}

/** Provider kinds whose wire API has JSON mode and JSON Schema output. */
const JSON_KINDS = new Set(["openai", "openai-compatible", "xai"])

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/

export interface ChatParams {
  options?: GenerationOptions
  tools: ToolSpec[]
  includeUsage: boolean
}

const given = (value: unknown) => value !== undefined && value !== null

function number(body: Record<string, unknown>, param: string, min: number, max: number): number | undefined {
  const value = body[param]
  if (!given(value)) return undefined
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max)
    throw new ParamError(param, `${param} must be a number from ${min} to ${max}; got ${JSON.stringify(value)}`)
  return value
}

function tokens(body: Record<string, unknown>, param: string): number | undefined {
  const value = body[param]
  if (!given(value)) return undefined
  if (!Number.isInteger(value) || (value as number) < 1)
    throw new ParamError(param, `${param} must be a whole number of at least 1; got ${JSON.stringify(value)}`)
  return value as number
}

function stopOf(value: unknown): string[] | undefined {
  if (!given(value)) return undefined
  const list = typeof value === "string" ? [value] : value
  if (!Array.isArray(list) || list.length > 4 || list.some((item) => typeof item !== "string" || item === ""))
    throw new ParamError("stop", "stop must be a string or an array of up to 4 non-empty strings")
  return list.length ? list : undefined
}

function formatOf(value: unknown, param: string, kind: string): GenerationOptions["responseFormat"] {
  if (!given(value)) return undefined
  const format = value as { type?: unknown; json_schema?: Record<string, unknown> } & Record<string, unknown>
  if (format.type === "text") return undefined
  if (format.type !== "json_object" && format.type !== "json_schema")
    throw new ParamError(`${param}.type`, `${param}.type must be text, json_object or json_schema`)
  if (!JSON_KINDS.has(kind))
    throw new ParamError(
      param,
      `${param} ${format.type} needs a provider of kind openai, openai-compatible or xai; this session's provider is of kind ${kind}`,
      "unsupported_parameter",
    )
  if (format.type === "json_object") return { type: "json_object" }
  // Chat Completions nests the schema in `json_schema`; the Responses API puts it beside `type`.
  const spec = (format.json_schema ?? format) as Record<string, unknown>
  const where = format.json_schema ? `${param}.json_schema` : param
  if (typeof spec.name !== "string" || !TOOL_NAME.test(spec.name))
    throw new ParamError(`${where}.name`, `${where}.name must match ^[a-zA-Z0-9_-]{1,64}$`)
  if (given(spec.schema) && (typeof spec.schema !== "object" || Array.isArray(spec.schema)))
    throw new ParamError(`${where}.schema`, `${where}.schema must be a JSON Schema object`)
  return {
    type: "json_schema",
    name: spec.name,
    schema: (spec.schema as Record<string, unknown>) ?? {},
    ...(typeof spec.strict === "boolean" ? { strict: spec.strict } : {}),
    ...(typeof spec.description === "string" ? { description: spec.description } : {}),
  }
}

/**
 * Client tools: Chat Completions' `{type:"function", function:{name,description,parameters}}` or the
 * Responses API's flat `{type:"function", name, description, parameters}`.
 */
export function toolsOf(value: unknown): ToolSpec[] {
  if (!given(value)) return []
  if (!Array.isArray(value)) throw new ParamError("tools", "tools must be an array")
  const seen = new Set<string>()
  return value.map((tool, index) => {
    const item = tool as { type?: unknown; function?: Record<string, unknown> } & Record<string, unknown>
    if (item?.type !== "function")
      throw new ParamError(
        `tools.${index}.type`,
        `tools.${index}.type ${JSON.stringify(item?.type)} is not supported; only function tools are`,
        "unsupported_value",
      )
    const fn = item.function ?? item
    if (typeof fn.name !== "string" || !TOOL_NAME.test(fn.name))
      throw new ParamError(`tools.${index}.function.name`, "a tool's name must match ^[a-zA-Z0-9_-]{1,64}$")
    if (seen.has(fn.name)) throw new ParamError(`tools.${index}.function.name`, `tool "${fn.name}" is given twice`)
    seen.add(fn.name)
    const parameters = fn.parameters ?? { type: "object", properties: {} }
    if (typeof parameters !== "object" || Array.isArray(parameters))
      throw new ParamError(`tools.${index}.function.parameters`, "a tool's parameters must be a JSON Schema object")
    return {
      name: fn.name,
      description: typeof fn.description === "string" ? fn.description : "",
      parameters: parameters as Record<string, unknown>,
    }
  })
}

/** `tool_choice` in either API's shape; a named tool must be one of the client's. */
export function toolChoiceOf(value: unknown, tools: ToolSpec[]): GenerationOptions["toolChoice"] {
  if (!given(value)) return undefined
  if (value === "auto" || value === "none" || value === "required") return value
  const choice = value as { type?: unknown; name?: unknown; function?: { name?: unknown } }
  const name = choice?.function?.name ?? choice?.name
  if (choice?.type !== "function" || typeof name !== "string")
    throw new ParamError("tool_choice", 'tool_choice must be "auto", "none", "required" or a function by name')
  if (!tools.some((tool) => tool.name === name))
    throw new ParamError("tool_choice", `tool_choice names "${name}", which is not in tools`)
  return { name }
}

function compact(options: GenerationOptions): GenerationOptions | undefined {
  const entries = Object.entries(options).filter(([, value]) => value !== undefined)
  return entries.length ? (Object.fromEntries(entries) as GenerationOptions) : undefined
}

/** The parameters of a chat completion request, or a ParamError for the first that cannot be honoured. */
export function chatParams(body: Record<string, unknown>, kind: string): ChatParams {
  for (const key of Object.keys(body)) {
    if (!given(body[key])) continue
    if (REFUSED[key]) throw new ParamError(key, REFUSED[key]!, "unsupported_parameter")
    if (!USED.includes(key) && !IGNORED.includes(key))
      throw new ParamError(key, `Unrecognized request argument supplied: ${key}`, "unknown_parameter")
  }
  if (given(body.n) && body.n !== 1)
    throw new ParamError(
      "n",
      "n must be 1: the gateway runs one turn per request, giving one choice",
      "unsupported_value",
    )
  if (body.logprobs === true || given(body.top_logprobs))
    throw new ParamError(
      body.logprobs === true ? "logprobs" : "top_logprobs",
      "log probabilities are not available through the gateway",
      "unsupported_parameter",
    )
  const tools = toolsOf(body.tools)
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined
  return {
    tools,
    includeUsage: streamOptions?.include_usage === true,
    options: compact({
      maxTokens: tokens(body, "max_completion_tokens") ?? tokens(body, "max_tokens"),
      temperature: number(body, "temperature", 0, 2),
      topP: number(body, "top_p", 0, 1),
      stop: stopOf(body.stop),
      responseFormat: formatOf(body.response_format, "response_format", kind),
      toolChoice: toolChoiceOf(body.tool_choice, tools),
    }),
  }
}

export { formatOf, number, tokens, compact }
