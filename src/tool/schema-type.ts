/**
 * TypeScript type text for a JSON Schema, the subset TypeBox produces (objects with `required`,
 * records as `patternProperties`, arrays, `anyOf` unions, `const` literals, primitives). The tool SDK's
 * shipped declarations use it for `ConfigInput`, so `drost.config.ts` and tools type-check against the
 * real configuration schema in editors, tsc and `deno check` without TypeBox's own types. A key with a
 * default is optional there, as in a config file (TypeBox's `Static` would require it).
 */

interface Schema {
  type?: string
  const?: unknown
  anyOf?: Schema[]
  items?: Schema
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  patternProperties?: Record<string, Schema>
  description?: string
  default?: unknown
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function comment(description: string | undefined, indent: string): string {
  if (!description) return ""
  return `${indent}/** ${description.replaceAll("*/", "*\\/").replaceAll("\n", " ")} */\n`
}

export function schemaType(schema: Schema, indent = ""): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.anyOf) return schema.anyOf.map((member) => schemaType(member, indent)).join(" | ")
  switch (schema.type) {
    case "string":
      return "string"
    case "number":
    case "integer":
      return "number"
    case "boolean":
      return "boolean"
    case "null":
      return "null"
    case "array": {
      const item = schema.items ? schemaType(schema.items, indent) : "unknown"
      return /^[\w$"]+$/.test(item) ? `${item}[]` : `Array<${item}>`
    }
    case "object": {
      const inner = `${indent}  `
      const required = new Set(schema.required ?? [])
      const lines = Object.entries(schema.properties ?? {}).map(([key, value]) => {
        const name = IDENTIFIER.test(key) ? key : JSON.stringify(key)
        // A key with a default may be left out: the loader fills it in before validating.
        const optional = required.has(key) && value.default === undefined ? "" : "?"
        return `${comment(value.description, inner)}${inner}${name}${optional}: ${schemaType(value, inner)}`
      })
      const rest = [
        ...Object.values(schema.patternProperties ?? {}),
        ...(typeof schema.additionalProperties === "object" ? [schema.additionalProperties] : []),
      ]
      if (rest.length) lines.push(`${inner}[key: string]: ${rest.map((value) => schemaType(value, inner)).join(" | ")}`)
      else if (schema.additionalProperties !== false && !schema.properties) lines.push(`${inner}[key: string]: unknown`)
      return lines.length ? `{\n${lines.join("\n")}\n${indent}}` : "Record<string, never>"
    }
    default:
      return "unknown"
  }
}
