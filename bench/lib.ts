/**
 * Shared pieces of the benchmarks: percentiles, the machine line (CPU, cores, load average, Bun
 * version) every result is read against, RSS and open file descriptors of a process, and the table +
 * JSON line each bench prints.
 */
import { cpus, loadavg } from "node:os"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import { resolve } from "node:path"

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

export interface Summary {
  n: number
  p50: number
  p90: number
  p99: number
  max: number
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  }
}

/** Round to `digits` decimals (figures in the JSON line stay readable). */
export const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits

export interface Machine {
  cpu: string
  cores: number
  bun: string
  /** 1-minute load average when the bench started and when it ended (the machine may be shared). */
  loadStart: number
  loadEnd?: number
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    bun: Bun.version,
    loadStart: round(loadavg()[0]!, 2),
  }
}

export function finishMachine(info: Machine): Machine {
  info.loadEnd = round(loadavg()[0]!, 2)
  return info
}

/** Resident set size of a process in MB (from /proc; Linux only). */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((row) => row.startsWith("VmRSS:"))
  return round(Number(line?.replace(/\D+/g, "") ?? 0) / 1024, 1)
}

/** Open file descriptors of a process (from /proc; Linux only). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Open file descriptors split into sockets (a connection pool breathes) and everything else (files, pipes, …). */
export function fdKinds(pid: number): { sockets: number; other: number } {
  let sockets = 0
  let other = 0
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) sockets++
      else other++
    } catch {
      // closed between the listing and the readlink
    }
  }
  return { sockets, other }
}

export function freePort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}

export type Row = [label: string, value: string, target: string]

/** A readable table, then one JSON line with every figure (what scripts and the README read). */
export function report(title: string, rows: Row[], json: Record<string, unknown>) {
  const width = Math.max(...rows.map(([label]) => label.length))
  const valueWidth = Math.max(...rows.map(([, value]) => value.length))
  console.log(title)
  for (const [label, value, target] of rows)
    console.log(`  ${label.padEnd(width)}  ${value.padStart(valueWidth)}  ${target}`)
  console.log(JSON.stringify(json))
}

export const ms = (value: number) => `${value.toFixed(3)} ms`
export const count = (value: number) => Math.round(value).toLocaleString("en-US")

/** CPU time (user + system) a process has used so far, in ms (from /proc; Linux only). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name (which may contain spaces) start at ")"; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
}
/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100

/** The compiled executable (dist/drost), built with build.ts first when it is missing. */
export async function ensureBinary(given = `${import.meta.dir}/../dist/drost`): Promise<string> {
  // Absolute: the gateway is spawned with the workspace as its working directory.
  const path = resolve(given)
  if (await Bun.file(path).exists()) return path
  const { compile } = await import("../build.ts")
  const version = ((await Bun.file(`${import.meta.dir}/../package.json`).json()) as { version: string }).version
  console.log(`building ${path} …`)
  await compile({ outfile: path, version, commit: "bench" })
  return path
}
