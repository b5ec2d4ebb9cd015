/**
 * Human-facing diagnostics on stderr (`key=value` lines). Structured records go to the JSONL sink
 * (bus/sink.ts); this is for operators reading a terminal or a service journal.
 */
import { Flag } from "./flag.ts"
import { redactText } from "./redact.ts"

export type Level = "debug" | "info" | "warn" | "error"
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

let sinkWrite: (line: string) => void = (line) => process.stderr.write(line)

/** Route log output elsewhere (the terminal chat keeps stderr lines from tearing its prompt). */
export function setLogWriter(write: (line: string) => void) {
  sinkWrite = write
}

function threshold(): number {
  const level = Flag.logLevel() as Level | undefined
  return ORDER[level ?? "info"] ?? ORDER.info
}

function format(fields?: Record<string, unknown>): string {
  if (!fields) return ""
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${typeof value === "string" && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join("")
}

export function create(service: string): Logger {
  const write = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold()) return
    sinkWrite(
      redactText(
        `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${service}: ${message}${format(fields)}\n`,
      ),
    )
  }
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") }
}

export * as Log from "./log.ts"
