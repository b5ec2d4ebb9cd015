/**
 * The one schema language (TypeBox): static types, runtime validation, OpenAPI and tool JSON Schema
 * all come from the same objects. `check` turns TypeBox's errors into one line per problem, each
 * naming the path the way a person writes it (`providers.profiles[1].kind`).
 */
import { type Static, type TObject, type TSchema, Type } from "@sinclair/typebox"
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value"

export type { Static, TObject, TSchema }
export { Type, Value }

export interface Issue {
  path: string
  message: string
}

/** `/providers/profiles/1/kind` → `providers.profiles[1].kind`. */
export function dotted(pointer: string): string {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
  return (
    parts.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), "") ||
    "(root)"
  )
}

function literals(schema: TSchema): unknown[] | undefined {
  const options = (schema as { anyOf?: TSchema[] }).anyOf
  if (!options?.every((option) => "const" in option)) return undefined
  return options.map((option) => (option as unknown as { const: unknown }).const)
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing"
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object") return "an object"
  return `${typeof value} ${JSON.stringify(value)}`
}

function explain(error: ValueError): string {
  if (error.value === undefined) return "is required"
  const choices = literals(error.schema)
  if (choices)
    return `expected one of ${choices.map((choice) => JSON.stringify(choice)).join(", ")}, got ${describe(error.value)}`
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return "is required"
    case ValueErrorType.ObjectAdditionalProperties:
      return "unknown key"
    case ValueErrorType.String:
    case ValueErrorType.Number:
    case ValueErrorType.Integer:
    case ValueErrorType.Boolean:
    case ValueErrorType.Array:
    case ValueErrorType.Object:
      return `expected ${ValueErrorType[error.type].toLowerCase()}, got ${describe(error.value)}`
    default:
      return `${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}, got ${describe(error.value)}`
  }
}

/** Every problem of `value` against `schema`, at most one per path, sorted by path. */
export function issues(schema: TSchema, value: unknown): Issue[] {
  const seen = new Set<string>()
  const out: Issue[] = []
  for (const error of Value.Errors(schema, value)) {
    // An unknown key is reported against its own path, not the parent object's.
    const path = dotted(error.path)
    if (seen.has(path)) continue
    seen.add(path)
    const variant = error.type === ValueErrorType.Union ? closest(error.schema, error.value) : undefined
    if (variant) {
      // "expected union value" says nothing: explain the form the value is closest to instead.
      for (const inner of issues(variant, error.value))
        out.push({
          path:
            inner.path === "(root)"
              ? path
              : `${path === "(root)" ? "" : path}${inner.path.startsWith("[") ? "" : "."}${inner.path}`.replace(
                  /^\./,
                  "",
                ),
          message: inner.message,
        })
      continue
    }
    out.push({ path, message: explain(error) })
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * For an object that matches no variant of a union of objects, the variant it was most likely meant
 * as: the one sharing most of its keys (required keys it lacks count against), e.g. an MCP server with
 * `command` is the stdio form whatever else is wrong with it. When the value names variants by a
 * literal key (`kind: "slack"`), the meant one is among those (not a plugin channel's open entry).
 */
function closest(union: TSchema, value: unknown): TSchema | undefined {
  const options = (union as { anyOf?: TSchema[] }).anyOf
  if (!options || literals(union) || value === null || typeof value !== "object" || Array.isArray(value))
    return undefined
  const keys = Object.keys(value)
  const record = value as Record<string, unknown>
  // The variants the value names by a literal key (`kind: "slack"`): the meant one is among them.
  const named = options.filter((option) => {
    const properties = (option as { properties?: Record<string, { const?: unknown }> }).properties ?? {}
    return keys.some((key) => properties[key]?.const !== undefined && properties[key]?.const === record[key])
  })
  let best: TSchema | undefined
  let score = Number.NEGATIVE_INFINITY
  for (const option of options) {
    const properties = (option as { properties?: Record<string, unknown> }).properties
    if (!properties) continue
    if (named.length && !named.includes(option)) continue
    const required = ((option as { required?: string[] }).required ?? []).filter((key) => !keys.includes(key))
    const next = keys.filter((key) => key in properties).length - required.length
    if (next > score) {
      score = next
      best = option
    }
  }
  return best
}

export function format(list: Issue[]): string {
  return list.map((issue) => `${issue.path}: ${issue.message}`).join("\n")
}
