/**
 * Request bodies encoded here and sent as they are (over fetch, post.ts; the Anthropic SDK passes a
 * string body through). Left to themselves, the SDKs serialise every request with a replacer function
 * called on every key and value, and the offered tools (their JSON Schemas are most of a request) are re-encoded on every
 * model call: together about a twentieth of a turn's CPU. Schemas are encoded once per schema object
 * (a registered tool's schema never changes; a reloaded tool brings a new object).
 */

import type { ToolSpec } from "../core/provider.ts"
import type { WireNames } from "./wire-names.ts"

/** The SDK sends a string body verbatim only when the request names its content type. */
export const JSON_BODY = { "content-type": "application/json" } as const

const schemas = new WeakMap<object, Map<string, string>>()

/**
 * A tool's parameter schema as JSON, encoded once per schema object and `shape` (a wire format that
 * wraps the schema, as Anthropic's `input_schema` does, names its shape and says how to wrap it).
 */
export function schemaJson(
  schema: object,
  shape: { name: string; wrap: (schema: object) => object } | null = null,
): string {
  let shapes = schemas.get(schema)
  if (!shapes) {
    shapes = new Map()
    schemas.set(schema, shapes)
  }
  const key = shape?.name ?? ""
  let json = shapes.get(key)
  if (json === undefined) {
    json = JSON.stringify(shape ? shape.wrap(schema) : schema)
    shapes.set(key, json)
  }
  return json
}

/**
 * Each offered tool's whole item (name, description, schema) as JSON, kept per schema object under its
 * wire format and wire name: encoding the names and descriptions of every tool again at every model call
 * was about 4 % of a turn's CPU (bench/turn-overhead.ts --profile). A changed description re-encodes.
 */
const items = new WeakMap<object, Map<string, { description: string; json: string }>>()

/**
 * The offered tools as a JSON array (null when there are none): `item(tool, wire)` encodes one tool in
 * the wire `format`, called only when that tool's item is not kept yet.
 */
export function encodeTools(
  tools: ToolSpec[],
  names: WireNames,
  format: string,
  item: (tool: ToolSpec, wire: string) => string,
): string | null {
  if (!tools.length) return null
  let out = "["
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i]!
    const wire = names.wire(tool.name)
    const schema = tool.parameters as object
    let json: string
    if (typeof schema === "object" && schema !== null) {
      let kept = items.get(schema)
      if (!kept) {
        kept = new Map()
        items.set(schema, kept)
      }
      const key = `${format}\u0000${wire}`
      const hit = kept.get(key)
      if (hit && hit.description === tool.description) json = hit.json
      else {
        json = item(tool, wire)
        kept.set(key, { description: tool.description, json })
      }
    } else json = item(tool, wire)
    out += i ? `,${json}` : json
  }
  return `${out}]`
}

/** `body` as JSON, with `extra` fields whose values are already JSON appended at its end. */
export function encodeBody(body: object, extra: Record<string, string | null>): string {
  let json = JSON.stringify(body)
  for (const [key, value] of Object.entries(extra))
    if (value !== null) json = `${json.slice(0, -1)},${JSON.stringify(key)}:${value}}`
  return json
}
