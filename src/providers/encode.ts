/**
 * Request bodies encoded here and handed to the SDKs as a string, which they send verbatim. Left to
 * themselves, the OpenAI SDK serialises every request with a replacer function called on every key
 * and value, and the offered tools (their JSON Schemas are most of a request) are re-encoded on every
 * model call: together about a twentieth of a turn's CPU. Schemas are encoded once per schema object
 * (a registered tool's schema never changes; a reloaded tool brings a new object).
 */

/** The SDK sends a string body verbatim only when the request names its content type. */
export const JSON_BODY = { "content-type": "application/json" } as const

const schemas = new WeakMap<object, string>()

/** A tool's parameter schema as JSON, encoded once. */
export function schemaJson(schema: object): string {
  let json = schemas.get(schema)
  if (json === undefined) {
    json = JSON.stringify(schema)
    schemas.set(schema, json)
  }
  return json
}

/** `body` as JSON, with `extra` fields whose values are already JSON appended at its end. */
export function encodeBody(body: object, extra: Record<string, string | null>): string {
  let json = JSON.stringify(body)
  for (const [key, value] of Object.entries(extra)) if (value !== null) json = `${json.slice(0, -1)},${JSON.stringify(key)}:${value}}`
  return json
}
