/**
 * Events are declared once with `defineEvent(type, schema)`. The bus, the JSONL sink, the SSE route and
 * the OpenAPI document all read the same registry, so a new event needs exactly one declaration.
 */
import { type Static, type TSchema, Type } from "./schema.ts"

export interface EventDef<Name extends string = string, S extends TSchema = TSchema> {
  type: Name
  schema: S
  /** High-frequency events (token deltas) go to live subscribers only, never to the JSONL files. */
  ephemeral: boolean
}

/** One delivered event: monotonic id, wall-clock time, typed payload. */
export interface Envelope<P = unknown> {
  id: number
  type: string
  time: number
  data: P
}

const registry = new Map<string, EventDef>()

export function defineEvent<Name extends string, S extends TSchema>(
  type: Name,
  schema: S,
  options: { ephemeral?: boolean } = {},
): EventDef<Name, S> {
  const existing = registry.get(type)
  if (existing) return existing as EventDef<Name, S>
  const def = { type, schema, ephemeral: options.ephemeral ?? false }
  registry.set(type, def)
  return def
}

export type Payload<E extends EventDef> = Static<E["schema"]>

export function all(): EventDef[] {
  return [...registry.values()]
}

export function get(type: string): EventDef | undefined {
  return registry.get(type)
}

/** The union of every envelope shape, for the SSE route's OpenAPI schema. */
export function union(): TSchema {
  return Type.Union(
    all().map((def) =>
      Type.Object({ id: Type.Number(), type: Type.Literal(def.type), time: Type.Number(), data: def.schema }),
    ),
  )
}

export * as Events from "./event.ts"
