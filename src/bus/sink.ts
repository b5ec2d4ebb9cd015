/**
 * The JSONL observability streams under `.drost/logs/`:
 * - `events.jsonl`: every non-ephemeral bus event (lifecycle, turns, provider requests, tool calls);
 * - `tools.jsonl`: tool-call traces (arguments, output, timing);
 * - `usage.jsonl`: one record per provider response with token counts and latency.
 * Everything is redacted before it is written. Writes are buffered and flushed every 200 ms and on close.
 *
 * Each file is rotated by size: before a flush would take it past `maxBytes`, `x.jsonl` becomes
 * `x.jsonl.1` (`.1` → `.2` …, the oldest beyond `keep` removed), so a line is never split and the hot
 * path never stats (the size is counted as it is written).
 */
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs"
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

export interface Rotation {
  /** Size at which a file is rotated (bytes). */
  maxBytes: number
  /** Rotated files kept besides the live one. */
  keep: number
}

export const DEFAULT_ROTATION: Rotation = { maxBytes: 10 * 1024 * 1024, keep: 5 }

export function createSink(bus: Bus, dir: string, rotation: Rotation = DEFAULT_ROTATION): Sink {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const buffers: Record<string, string[]> = { events: [], tools: [], usage: [] }
  const sizes: Record<string, number> = {}
  const rotate = (file: string) => {
    rmSync(`${file}.${rotation.keep}`, { force: true })
    for (let i = rotation.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${file}.${i}`, `${file}.${i + 1}`)
      } catch {}
    }
    if (rotation.keep > 0) renameSync(file, `${file}.1`)
    else rmSync(file, { force: true })
  }
  const flush = () => {
    for (const [name, lines] of Object.entries(buffers)) {
      if (lines.length === 0) continue
      const file = join(dir, `${name}.jsonl`)
      const chunk = lines.join("")
      const bytes = Buffer.byteLength(chunk)
      sizes[name] ??= statSync(file, { throwIfNoEntry: false })?.size ?? 0
      if (sizes[name]! > 0 && sizes[name]! + bytes > rotation.maxBytes) {
        rotate(file)
        sizes[name] = 0
      }
      appendFileSync(file, chunk, { mode: 0o600 })
      sizes[name]! += bytes
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
