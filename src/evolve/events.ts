/** Bus events of self-evolution; the JSONL sink and the SSE stream carry them like any other. */
import { defineEvent } from "../core/event.ts"
import { Type } from "../core/schema.ts"

const Ids = { id: Type.String(), reason: Type.String() }

export const EvolutionEvent = {
  Started: defineEvent("evolution.started", Type.Object({ ...Ids, by: Type.String(), before: Type.String() })),
  Step: defineEvent(
    "evolution.step",
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      ok: Type.Boolean(),
      durationMs: Type.Number(),
      output: Type.String(),
    }),
  ),
  Applied: defineEvent(
    "evolution.applied",
    Type.Object({ ...Ids, after: Type.String(), files: Type.Array(Type.String()), restart: Type.Boolean() }),
  ),
  RolledBack: defineEvent(
    "evolution.rolled_back",
    Type.Object({ ...Ids, before: Type.String(), verdict: Type.String() }),
  ),
  Restarting: defineEvent("evolution.restarting", Type.Object({ ...Ids, after: Type.String() })),
  Health: defineEvent(
    "evolution.health",
    Type.Object({
      id: Type.String(),
      ok: Type.Boolean(),
      detail: Type.String(),
      healthyAfterMs: Type.Optional(Type.Number()),
    }),
  ),
  Recovered: defineEvent(
    "evolution.recovered",
    Type.Object({ id: Type.String(), before: Type.String(), detail: Type.String() }),
  ),
}
