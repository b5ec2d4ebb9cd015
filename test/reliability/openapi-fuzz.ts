/**
 * Request generation from the gateway's own OpenAPI document: for every operation, bodies, query
 * strings and path parameters that are valid by the schema, then bent one way: a required field
 * dropped, a wrong type, an unknown field, a number just past its bound, a string past its length,
 * nulls, huge and deeply nested values, a wrong content type. Plus raw garbage.
 */
import type { rng } from "./chaos.ts"

type Random = ReturnType<typeof rng>
// biome-ignore lint/suspicious/noExplicitAny: JSON Schema nodes from a parsed document
type Schema = Record<string, any>

export interface Operation {
  method: string
  path: string
  params: { in: string; name: string; required: boolean; schema: Schema }[]
  body: Schema | null
}

export interface FuzzRequest {
  method: string
  path: string
  headers: Record<string, string>
  body?: string | Uint8Array
  operation: string
}

export function operations(document: Schema): Operation[] {
  const out: Operation[] = []
  for (const [path, methods] of Object.entries(document.paths as Record<string, Schema>)) {
    for (const [method, op] of Object.entries(methods)) {
      out.push({
        method: method.toUpperCase(),
        path,
        params: ((op.parameters ?? []) as Schema[]).map((param) => ({
          in: param.in,
          name: param.name,
          required: Boolean(param.required),
          schema: param.schema ?? {},
        })),
        body: op.requestBody?.content?.["application/json"]?.schema ?? null,
      })
    }
  }
  return out
}

/** A value valid by `schema` (as far as a generator without a solver can tell). */
export function valid(schema: Schema, random: Random, depth = 0): unknown {
  if (schema.const !== undefined) return schema.const
  if (schema.enum) return random.pick(schema.enum)
  const union = schema.anyOf ?? schema.oneOf
  if (union) return valid(random.pick(union), random, depth + 1)
  const type = Array.isArray(schema.type) ? random.pick(schema.type) : schema.type
  switch (type) {
    case "string": {
      const min = schema.minLength ?? 0
      const max = Math.min(schema.maxLength ?? 24, min + 24)
      return "abcdefghij".repeat(4).slice(0, min + random.int(max - min + 1))
    }
    case "integer":
    case "number": {
      const min = schema.minimum ?? 0
      const max = schema.maximum ?? min + 100
      const value = min + random.next() * (max - min)
      return type === "integer" ? Math.floor(value) : value
    }
    case "boolean":
      return random.next() < 0.5
    case "null":
      return null
    case "array":
      return depth > 4 ? [] : Array.from({ length: random.int(3) }, () => valid(schema.items ?? {}, random, depth + 1))
    case "object": {
      const out: Record<string, unknown> = {}
      const required = new Set<string>(schema.required ?? [])
      for (const [key, inner] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
        if (required.has(key) || (depth < 4 && random.next() < 0.5)) out[key] = valid(inner, random, depth + 1)
      }
      return out
    }
    default:
      return random.pick(["x", 1, true, null])
  }
}

const WRONG: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -0.5,
  "",
  "x".repeat(300),
  [],
  {},
  [null],
  { a: [{}] },
  "9".repeat(400),
  Number.MAX_SAFE_INTEGER,
]

/** The valid value, bent in one way. */
export function bend(schema: Schema, random: Random): unknown {
  const value = valid(schema, random)
  const properties = Object.entries((schema.properties ?? {}) as Record<string, Schema>)
  const choice = random.int(9)
  if (value && typeof value === "object" && !Array.isArray(value) && properties.length) {
    const body = value as Record<string, unknown>
    const [key, inner] = random.pick(properties)
    if (choice === 0 && schema.required?.length) delete body[random.pick(schema.required as string[])]
    else if (choice === 1) body[key] = random.pick(WRONG)
    else if (choice === 2) body[`extra_${random.int(9)}`] = random.pick(WRONG)
    else if (choice === 3 && inner.maximum !== undefined) body[key] = inner.maximum + 1
    else if (choice === 4 && inner.minimum !== undefined) body[key] = inner.minimum - 1
    else if (choice === 5 && inner.maxLength !== undefined) body[key] = "y".repeat(inner.maxLength + 1)
    else if (choice === 6) body[key] = nested(random.int(200))
    // An own "__proto__" key (as JSON.parse would make it): a prototype-pollution attempt on the server.
    else if (choice === 7) Object.defineProperty(body, "__proto__", { value: { polluted: true }, enumerable: true })
    return body
  }
  return choice < 3 ? random.pick(WRONG) : value
}

function nested(depth: number): unknown {
  let out: unknown = "deep"
  for (let i = 0; i < depth; i++) out = { a: out }
  return out
}

export function garbage(random: Random): string | Uint8Array {
  const kind = random.int(6)
  if (kind === 0) return crypto.getRandomValues(new Uint8Array(random.int(4096)))
  if (kind === 1) return "[".repeat(3000 + random.int(3000))
  if (kind === 2) return `{"input":"${"z".repeat(random.int(100_000))}"`
  if (kind === 3) return Array.from({ length: random.int(500) }, () => String.fromCharCode(random.int(0xffff))).join("")
  if (kind === 4) return "\u0000\u0001\ufffe{}"
  return "{".repeat(random.int(50)) + '"a":' + "}".repeat(random.int(50))
}

/** A query value: valid, out of bounds, the wrong type, or junk. */
export function queryValue(schema: Schema, random: Random): string {
  const choice = random.int(5)
  if (choice === 0) return encodeURIComponent(String(valid(schema, random)))
  if (choice === 1) return String((schema.maximum ?? 1e12) + 1)
  if (choice === 2) return String((schema.minimum ?? 0) - 1)
  if (choice === 3) return random.pick(["NaN", "abc", "1e400", "-0", "%00", "%ff%fe", "[]", "true", "9".repeat(40)])
  return encodeURIComponent(String.fromCharCode(random.int(0xd7ff)))
}
