/**
 * Events of the skills layer, declared once; the skills service reports through a plain `emit`
 * callback (this layer has no bus) and the gateway publishes them.
 */
import { defineEvent, type EventDef, type Payload } from "../core/event.ts"
import { Type } from "../core/schema.ts"

export const SkillsEvent = {
  /** The skills were read again because something changed: what loaded, what was rejected and why. */
  Reloaded: defineEvent(
    "skills.reloaded",
    Type.Object({
      generation: Type.Number(),
      loaded: Type.Array(Type.String()),
      rejected: Type.Array(Type.Object({ folder: Type.String(), reasons: Type.Array(Type.String()) })),
    }),
  ),
}

export type Emit = <E extends EventDef>(def: E, data: Payload<E>) => void
