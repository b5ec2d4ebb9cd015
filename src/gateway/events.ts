import { defineEvent } from "../core/event.ts"
import { Type } from "../core/schema.ts"

export const GatewayState = Type.Union([
  Type.Literal("starting"),
  Type.Literal("running"),
  Type.Literal("degraded"),
  Type.Literal("stopping"),
  Type.Literal("stopped"),
])

export const GatewayEvent = {
  Started: defineEvent(
    "gateway.started",
    Type.Object({
      gatewayId: Type.String({
        description:
          "This gateway's id in the store's gateways table (gw_…): the owner of its turns, jobs and schedule runs",
      }),
      pid: Type.Number(),
      workspace: Type.String(),
      version: Type.String(),
      interruptedTurns: Type.Number({
        description: "Open turns of gone gateways (this host's previous run, or a dead peer) interrupted at start",
      }),
    }),
  ),
  State: defineEvent("gateway.state", Type.Object({ state: GatewayState, reasons: Type.Array(Type.String()) })),
  Stopping: defineEvent("gateway.stopping", Type.Object({ reason: Type.String() })),
  Stopped: defineEvent("gateway.stopped", Type.Object({ reason: Type.String(), interruptedTurns: Type.Number() })),
  RestartRequested: defineEvent("gateway.restart.requested", Type.Object({ by: Type.String() })),
}
