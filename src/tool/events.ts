/**
 * Events of the tool layer, declared once. The registry and the loaders report through a plain
 * `emit(def, data)` callback so this layer stays free of the bus; the gateway publishes them.
 */
import { defineEvent, type EventDef, type Payload } from "../core/event.ts"
import { Type } from "../core/schema.ts"

export const ToolsEvent = {
  Denied: defineEvent(
    "tool.denied",
    Type.Object({
      name: Type.String(),
      reason: Type.String(),
      sessionId: Type.String(),
      turnId: Type.String(),
      callId: Type.String(),
    }),
  ),
  Reloaded: defineEvent(
    "tool.workspace.reloaded",
    Type.Object({
      generation: Type.Number(),
      loaded: Type.Array(Type.String()),
      rejected: Type.Array(Type.Object({ file: Type.String(), reason: Type.String() })),
      durationMs: Type.Number(),
    }),
  ),
  McpConnected: defineEvent(
    "tool.mcp.connected",
    Type.Object({ server: Type.String(), tools: Type.Array(Type.String()), durationMs: Type.Number() }),
  ),
  McpDisconnected: defineEvent(
    "tool.mcp.disconnected",
    Type.Object({ server: Type.String(), reason: Type.String(), retryInMs: Type.Union([Type.Number(), Type.Null()]) }),
  ),
}

export type Emit = <E extends EventDef>(def: E, data: Payload<E>) => void
