/**
 * A plugin's model provider behind the runtime's provider contract (core/provider.ts): its stream
 * never throws and ends with exactly one `done` or `error`, whatever the plugin's code does, so the
 * agent loop, failover and the session's record treat it like any built-in adapter.
 */
import type { Profile } from "../core/config.ts"
import type { Provider, StreamEvent } from "../core/provider.ts"
import type { ModelProvider, ModelRequest } from "../sdk/plugin.ts"

export function guardProvider(plugin: string, profile: Profile, inner: ModelProvider): Provider {
  const label = `plugin ${plugin}`
  return {
    id: profile.id,
    kind: "plugin",
    model: (typeof inner.model === "string" && inner.model) || profile.model || plugin,
    async *stream(request, signal): AsyncGenerator<StreamEvent> {
      try {
        for await (const event of inner.stream(request as ModelRequest, signal) as AsyncIterable<StreamEvent>) {
          if (event?.type === "attempt" || event?.type === "attempt-failed") continue // the router's own
          yield event
          if (event?.type === "done" || event?.type === "error") return
        }
        yield signal.aborted
          ? { type: "error", kind: "aborted", message: "aborted" }
          : { type: "error", kind: "stream", message: `${label}: the stream ended without done or error` }
      } catch (error) {
        yield signal.aborted
          ? { type: "error", kind: "aborted", message: "aborted" }
          : {
              type: "error",
              kind: "unknown",
              message: `${label}: ${error instanceof Error ? error.message : String(error)}`,
            }
      }
    },
  }
}
