/**
 * Argument validation for every tool. Built-ins carry TypeBox schemas (checked with TypeBox); workspace
 * and MCP tools carry plain JSON Schema, checked with Ajv (compiled once per schema object). Both give
 * one line per problem, naming the path, so the model can fix its call.
 */
import type Ajv from "ajv"
import type { ErrorObject, ValidateFunction } from "ajv"
import { Kind } from "@sinclair/typebox"
import { type TSchema, Value, issues } from "../core/schema.ts"

// Loaded and built on first use: evaluating the package and its constructor (which compiles Ajv's
// meta-schemas) cost a few milliseconds of every start, and a gateway with only built-in tools never
// needs it. A synchronous require keeps compile() synchronous.
let ajv: Ajv | undefined
const compiled = new WeakMap<object, ValidateFunction>()
/**
 * Validators by schema text: every reload of the workspace tools brings new schema objects, and Ajv
 * keeps each one it compiled (about 25 KB a reload). The same schema compiles once; beyond LIMIT
 * distinct schemas the oldest is removed from Ajv too.
 */
const byText = new Map<string, { fn: ValidateFunction; schema: object }>()
const LIMIT = 512

/** Throws with a readable message when `schema` is not a usable JSON Schema (used at load time). */
export function compile(schema: Record<string, unknown>): ValidateFunction {
  const cached = compiled.get(schema)
  if (cached) return cached
  // Ajv speaks draft-07 by default; a `$schema` naming another draft would make it refuse the schema.
  const { $schema: _, ...rest } = schema
  const text = JSON.stringify(rest)
  const known = byText.get(text)
  if (known) {
    byText.delete(text)
    byText.set(text, known) // most recently used last
    compiled.set(schema, known.fn)
    return known.fn
  }
  if (!ajv) {
    const { default: AjvClass } = require("ajv") as { default: typeof Ajv }
    ajv = new AjvClass({ allErrors: true, strict: false, validateFormats: false })
  }
  const fn = ajv.compile(rest)
  compiled.set(schema, fn)
  byText.set(text, { fn, schema: rest })
  if (byText.size > LIMIT) {
    const [oldest, entry] = byText.entries().next().value as [string, { schema: object }]
    byText.delete(oldest)
    ajv.removeSchema(entry.schema)
  }
  return fn
}

function path(error: ErrorObject): string {
  const base = error.instancePath
    .split("/")
    .slice(1)
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), "")
  const extra =
    error.keyword === "required"
      ? String(error.params.missingProperty)
      : error.keyword === "additionalProperties"
        ? String(error.params.additionalProperty)
        : ""
  return [base, extra].filter(Boolean).join(".") || "arguments"
}

function explain(error: ErrorObject): string {
  if (error.keyword === "required") return "is required"
  if (error.keyword === "additionalProperties") return "unknown key"
  if (error.keyword === "enum")
    return `expected one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`
  return error.message ?? error.keyword
}

/** One line per problem; empty when the value is valid. */
export function problems(schema: Record<string, unknown>, value: unknown): string[] {
  if (Kind in schema) {
    // The common case, valid arguments, takes the fast check; the issue walk runs only to explain a failure.
    if (Value.Check(schema as unknown as TSchema, value)) return []
    return issues(schema as unknown as TSchema, value).map(
      (issue) => `${issue.path === "(root)" ? "arguments" : issue.path}: ${issue.message}`,
    )
  }
  const fn = compile(schema)
  if (fn(value)) return []
  const seen = new Set<string>()
  return (fn.errors ?? [])
    .map((error) => `${path(error)}: ${explain(error)}`)
    .filter((line) => !seen.has(line) && Boolean(seen.add(line)))
}
