/**
 * Issue 14 item 19: the JSONL logs are rotated by size with a retention count, every line whole.
 */
import { expect, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { createBus } from "../../src/bus/bus.ts"
import { createSink } from "../../src/bus/sink.ts"
import { defineEvent } from "../../src/core/event.ts"
import { Type } from "../../src/core/schema.ts"

const Big = defineEvent("test.sink.big", Type.Object({ n: Type.Number(), text: Type.String() }))

test("each log rotates before it passes maxBytes, keeps `keep` old files, and never splits a line", () => {
  const dir = mkdtempSync(join(process.env.DROST_TEST_ROOT ?? "/tmp", "sink-"))
  try {
    const bus = createBus()
    const sink = createSink(bus, dir, { maxBytes: 8192, keep: 2 })
    for (let n = 0; n < 200; n++) {
      bus.publish(Big, { n, text: "x".repeat(300) })
      if (n % 7 === 0) sink.flush()
    }
    sink.close()
    const files = readdirSync(dir).sort()
    expect(files).toEqual(["events.jsonl", "events.jsonl.1", "events.jsonl.2"])
    const lines: { data: { n: number } }[] = []
    for (const file of ["events.jsonl.2", "events.jsonl.1", "events.jsonl"]) {
      const text = readFileSync(join(dir, file), "utf8")
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(8192)
      expect(text.endsWith("\n")).toBe(true)
      for (const line of text.trimEnd().split("\n")) lines.push(JSON.parse(line))
    }
    // The newest events are all there, in order, each line whole; the oldest went with rotation.
    const ns = lines.map((line) => line.data.n)
    expect(ns.at(-1)).toBe(199)
    expect(ns).toEqual([...ns].sort((a, b) => a - b))
    expect(new Set(ns).size).toBe(ns.length)
    expect(existsSync(join(dir, "events.jsonl.3"))).toBe(false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
