/**
 * `drost logs [-f] [--stream events|tools|usage] [-n N] [--json]`: the JSONL streams the gateway
 * writes under `.drost/logs/` (bus/sink.ts), read straight from the files, so they work while the
 * gateway is down and write nothing. One line per event: time, type, and the event's data; `--json`
 * prints the stored lines as they are. `-f` keeps following, across rotation (x.jsonl → x.jsonl.1).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs"
import { join } from "node:path"
import { defineCommand } from "citty"
import { DrostError } from "../core/error.ts"
import { integer, UsageError, workspaceArgs } from "./args.ts"
import { stateDirOf, where } from "./reach.ts"

const STREAMS = ["events", "tools", "usage"] as const
type Stream = (typeof STREAMS)[number]

function time(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 23)
}

/** One stored line as a person reads it; lines that are not an event are shown as they are. */
export function formatLine(line: string, width: number): string {
  let event: { type?: string; time?: number; data?: unknown }
  try {
    event = JSON.parse(line)
  } catch {
    return line
  }
  if (typeof event.type !== "string" || typeof event.time !== "number") return line
  const head = `${time(event.time)}  ${event.type}`
  const data = event.data === undefined ? "" : JSON.stringify(event.data)
  const text = `${head}  ${data}`
  return text.length > width ? `${text.slice(0, Math.max(head.length + 3, width - 1))}…` : text
}

/** Reads what was appended to a file since `offset`, starting over when the file was rotated. */
function readFrom(file: string, offset: number): { text: string; offset: number } {
  const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0
  const from = size < offset ? 0 : offset
  if (size === from) return { text: "", offset: from }
  const fd = openSync(file, "r")
  try {
    const buffer = Buffer.alloc(size - from)
    readSync(fd, buffer, 0, buffer.length, from)
    return { text: buffer.toString("utf8"), offset: size }
  } finally {
    closeSync(fd)
  }
}

export const logsCommand = defineCommand({
  meta: { name: "logs", description: "Show the gateway's event, tool or usage log (-f to follow)" },
  args: {
    ...workspaceArgs,
    stream: { type: "string", alias: "s", description: "events (default), tools or usage" },
    lines: { type: "string", alias: "n", description: "How many of the last lines to show first (default 20)" },
    follow: { type: "boolean", alias: "f", description: "Keep printing lines as they are written (Ctrl-C ends)" },
    json: { type: "boolean", description: "The stored JSON lines, unformatted" },
  },
  async run({ args }) {
    const stream = (args.stream ?? "events") as Stream
    if (!STREAMS.includes(stream))
      throw new UsageError(`--stream expects events, tools or usage, got "${args.stream}"`, ["logs"])
    const count = integer(args.lines, "--lines", { min: 0 }) ?? 20
    const target = where(args)
    const { stateDir } = await stateDirOf(target)
    const file = join(stateDir, "logs", `${stream}.jsonl`)
    const width = process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : Number.POSITIVE_INFINITY
    const show = (line: string) => process.stdout.write(`${args.json ? line : formatLine(line, width)}\n`)
    if (!existsSync(file) && !args.follow)
      throw new DrostError(
        "NoLogs",
        `no ${stream} log in ${join(stateDir, "logs")} yet: the gateway writes it while it runs (drost start)`,
      )
    const first = existsSync(file) ? readFileSync(file, "utf8") : ""
    const lines = first.split("\n").filter(Boolean)
    for (const line of count ? lines.slice(-count) : []) show(line)
    if (!args.follow) return
    let offset = Buffer.byteLength(first)
    let partial = ""
    for (;;) {
      await Bun.sleep(200)
      if (!existsSync(file)) continue
      const next = readFrom(file, offset)
      offset = next.offset
      const text = partial + next.text
      const cut = text.lastIndexOf("\n")
      partial = text.slice(cut + 1)
      for (const line of text
        .slice(0, cut + 1)
        .split("\n")
        .filter(Boolean))
        show(line)
    }
  },
})
