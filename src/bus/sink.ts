/**
 * The JSONL observability streams under `.drost/logs/`:
 * - `events.jsonl`: every non-ephemeral bus event (lifecycle, turns, provider requests, tool calls);
 * - `tools.jsonl`: tool-call traces (arguments, output, timing);
 * - `usage.jsonl`: one record per provider response with token counts and latency.
 * Everything is redacted before it is written. Writes are buffered and flushed every 200 ms and on close.
 */
import { appendFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { get } from "../core/event.ts"
import { redact } from "../util/redact.ts"
import type { Bus } from "./bus.ts"

export interface Sink {
  flush(): void
  close(): void
}

const streamOf = (type: string): "tools" | "usage" | null =>
  type.startsWith("tool.call.") ? "tools" : type === "provider.response" ? "usage" : null

export function createSink(bus: Bus, dir: string): Sink {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const buffers: Record<string, string[]> = { events: [], tools: [], usage: [] }
  const flush = () => {
    for (const [name, lines] of Object.entries(buffers)) {
      if (lines.length === 0) continue
      appendFileSync(join(dir, `${name}.jsonl`), lines.join(""), { mode: 0o600 })
      lines.length = 0
    }
  }
  const stop = bus.subscribeAll((event) => {
    if (get(event.type)?.ephemeral) return
    const line = `${JSON.stringify(redact(event))}\n`
    buffers.events!.push(line)
    const extra = streamOf(event.type)
    if (extra) buffers[extra]!.push(line)
  })
  const timer = setInterval(flush, 200)
  timer.unref?.()
  return {
    flush,
    close() {
      stop()
      clearInterval(timer)
      flush()
    },
  }
}
