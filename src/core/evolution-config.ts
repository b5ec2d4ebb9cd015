/**
 * The `evolution` and `supervisor` sections of the configuration (see docs/self-evolution.md). Kept
 * beside config.ts so the self-evolution vocabulary reads in one place; config.ts mounts them.
 */
import { type Static, Type } from "./schema.ts"

const closed = { additionalProperties: false } as const

/** One gate command: a string split on whitespace (no shell), or an argv array. "bun" means the runtime itself. */
export const GateCommand = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
])
export type GateCommand = Static<typeof GateCommand>

export const Evolution = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: "Offer the evolve tool and POST /control/v1/evolution" }),
    mutableRoots: Type.Array(Type.String({ minLength: 1 }), {
      default: ["tools", "prompts"],
      description:
        "Files and folders (relative to the workspace) a transaction may change; never the state folder. The config file is mutable only when listed here by itself.",
    }),
    validation: Type.Object(
      {
        commands: Type.Array(GateCommand, {
          default: [],
          description:
            'Run in the workspace after the built-in gates, e.g. ["bun test"]; any non-zero exit fails the change',
        }),
        timeoutMs: Type.Integer({
          minimum: 100,
          default: 120_000,
          description: "Per command; a command still running is killed (its whole process group) and fails the change",
        }),
      },
      { ...closed, default: {} },
    ),
    healthGate: Type.Object(
      {
        timeoutMs: Type.Integer({
          minimum: 500,
          default: 20_000,
          description:
            "After a restart into changed code: ready + /healthz + a canary turn within this time, else roll back",
        }),
        canary: Type.Boolean({
          default: true,
          description: "Run one turn on the demo provider as part of the health gate",
        }),
      },
      { ...closed, default: {} },
    ),
    rollbackOnFailure: Type.Boolean({
      default: true,
      description:
        "Restore the checkpoint when a gate or the health gate fails (false keeps the change for inspection)",
    }),
  },
  { ...closed, default: {} },
)
export type Evolution = Static<typeof Evolution>

export const Supervisor = Type.Object(
  {
    maxCrashes: Type.Integer({
      minimum: 1,
      default: 5,
      description: "Crashes within windowMs after which the supervisor gives up",
    }),
    windowMs: Type.Integer({ minimum: 1000, default: 60_000 }),
    backoffMs: Type.Integer({
      minimum: 0,
      default: 250,
      description: "First restart delay after a crash; doubles per crash in the window",
    }),
    maxBackoffMs: Type.Integer({ minimum: 0, default: 10_000 }),
  },
  { ...closed, default: {} },
)
export type Supervisor = Static<typeof Supervisor>
