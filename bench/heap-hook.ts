/**
 * Preloaded into a gateway by a bench (`BUN_OPTIONS="--preload bench/heap-hook.ts"`, with
 * `DROST_HEAP_OUT=<path prefix>`), never by the gateway itself: it samples the process's own memory
 * every 50 ms (`process.memoryUsage()`: RSS, JS heap, external) and, at each new RSS peak, `bun:jsc`
 * heapStats() (heap size and capacity, extra memory, the commonest object types). On SIGUSR2 it writes
 * what it has since the last signal to `<prefix>.<pid>.<time>.json` and starts again. So a bench sees
 * what grows inside the gateway (JS heap vs. external buffers vs. the rest, which is native) without
 * its own clients in the same heap.
 */
import { heapStats } from "bun:jsc"
import { readFileSync, writeFileSync } from "node:fs"

const out = process.env.DROST_HEAP_OUT
const mb = (bytes: number) => Math.round(bytes / 1048576)

interface Sample {
  t: number
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
  /** Linux: resident anonymous memory and resident file-backed pages (the executable's, mapped files). */
  anon?: number
  file?: number
  heapSize?: number
  heapCapacity?: number
  extra?: number
  objects?: number
  types?: Record<string, number>
}

/** Anonymous and file-backed resident kB from /proc/self/smaps_rollup (null where there is none). */
function resident(): { anon: number; file: number } | null {
  try {
    const text = readFileSync("/proc/self/smaps_rollup", "utf8")
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0)
    const anon = kb("Anonymous")
    return { anon: Math.round(anon / 1024), file: Math.round((kb("Rss") - anon) / 1024) }
  } catch {
    return null
  }
}

function take(full: boolean): Sample {
  const usage = process.memoryUsage()
  const sample: Sample = {
    t: Date.now(),
    rss: mb(usage.rss),
    heapTotal: mb(usage.heapTotal),
    heapUsed: mb(usage.heapUsed),
    external: mb(usage.external),
    ...resident(),
  }
  if (full) {
    const stats = heapStats()
    sample.heapSize = mb(stats.heapSize)
    sample.heapCapacity = mb(stats.heapCapacity)
    sample.extra = mb(stats.extraMemorySize)
    sample.objects = stats.objectCount
    sample.types = Object.fromEntries(
      Object.entries(stats.objectTypeCounts)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25),
    )
  }
  return sample
}

if (out) {
  let peak: Sample | null = null
  let samples: Sample[] = []
  const timer = setInterval(() => {
    const sample = take(false)
    samples.push(sample)
    if (!peak || sample.rss > peak.rss) peak = take(true)
  }, 50)
  timer.unref()
  process.on("SIGUSR2", () => {
    writeFileSync(`${out}.${process.pid}.${Date.now()}.json`, JSON.stringify({ peak, now: take(true), samples }))
    samples = []
    peak = null
  })
}
