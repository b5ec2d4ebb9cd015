/**
 * The workspace tool host: the process that imports `tools/*` and runs their calls, one per tool
 * generation (and one per granted tool). The gateway starts it inside the OS sandbox (host-process.ts)
 * as its own executable with a hidden argument (src/index.ts routes it here before the CLI loads), so
 * a tool's top-level code and its calls see only the workspace view: no secrets, no network, not the
 * gateway's pid. Whatever a tool does to this process (throw, hang, abort, kill itself) ends at most
 * this process; the gateway reports it and starts a new one.
 *
 * Messages: one JSON object per line, read from stdin, written to fd 3 (protocol.ts). The host exits
 * when stdin closes, so it never outlives the gateway, sandbox or not.
 */
import { writeSync } from "node:fs"
import type { ToolDefinition } from "../sdk/mod.ts"
import {
  describeError,
  type FromHost,
  HOST_FD,
  pluginTools,
  shapeProblem,
  type ToHost,
  type ToolMeta,
} from "./protocol.ts"
import { registerSdkModule } from "./sdk-plugin.ts"

/** Loaded tools by name, with the file each came from. */
const tools = new Map<string, { tool: ToolDefinition; file: string }>()
const running = new Map<number, AbortController>()
const encoder = new TextEncoder()

function post(message: FromHost) {
  const bytes = encoder.encode(`${JSON.stringify(message)}\n`)
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += writeSync(HOST_FD, bytes, offset)
    } catch (error) {
      // A non-blocking pipe that is full: wait for the gateway to read. Anything else: it is gone.
      if ((error as { code?: string }).code !== "EAGAIN") process.exit(1)
      Bun.sleepSync(1)
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

async function load(message: Extract<ToHost, { type: "load" }>) {
  const metas: ToolMeta[] = []
  const rejected: { file: string; reason: string }[] = []
  try {
    process.chdir(message.cwd)
  } catch (error) {
    const reason = `the tool host cannot work in ${message.cwd}: ${describeError(error)}`
    post({ type: "loaded", tools: [], rejected: message.files.map((file) => ({ file, reason })) })
    return
  }
  for (const file of message.files) {
    post({ type: "importing", file })
    try {
      const mod = (await withTimeout(
        import(`${file}?v=${message.version}`),
        message.importTimeoutMs,
        `importing took longer than ${message.importTimeoutMs} ms (top-level code that never finishes?)`,
      )) as { default?: unknown }
      // A plugin's entry (src/plugins) brings a list of tools; they are served here like tool files.
      const found = pluginTools(mod.default) ?? [mod.default]
      for (const value of found) {
        const problem = shapeProblem(value)
        if (problem) {
          rejected.push({ file, reason: problem })
          continue
        }
        const tool = value as ToolDefinition
        const other = tools.get(tool.name)
        if (other) {
          rejected.push({ file, reason: `name clash: "${tool.name}" is also defined by ${other.file}` })
          continue
        }
        const meta: ToolMeta = {
          file,
          name: tool.name,
          description: tool.description,
          parameters: JSON.parse(JSON.stringify(tool.parameters)),
          permissions: tool.permissions,
          sandbox: tool.sandbox,
          timeoutMs: tool.timeoutMs,
        }
        tools.set(tool.name, { tool, file })
        metas.push(meta)
      }
    } catch (error) {
      rejected.push({ file, reason: describeError(error).replaceAll(`?v=${message.version}`, "") })
    }
  }
  post({ type: "loaded", tools: metas, rejected })
}

async function call(message: Extract<ToHost, { type: "call" }>) {
  const tool = tools.get(message.name)?.tool
  const controller = new AbortController()
  running.set(message.id, controller)
  const log = (level: "info" | "warn" | "error") => (text: string, fields?: Record<string, unknown>) =>
    post({ type: "log", id: message.id, level, message: String(text), fields })
  try {
    if (!tool) throw new Error(`tool ${message.name} is not loaded in this generation`)
    const value = await tool.execute(message.args as Record<string, unknown>, {
      ...message.context,
      signal: controller.signal,
      log: { info: log("info"), warn: log("warn"), error: log("error") },
    })
    // Only JSON-able data crosses back; a value that isn't is reported rather than lost silently.
    const safe = typeof value === "string" || value === undefined ? value : JSON.parse(JSON.stringify(value) ?? "null")
    post({ type: "result", id: message.id, ok: true, value: safe })
  } catch (error) {
    post({ type: "result", id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) })
  } finally {
    running.delete(message.id)
  }
}

function handle(line: string) {
  const message = JSON.parse(line) as ToHost
  if (message.type === "load") void load(message)
  else if (message.type === "call") void call(message)
  else running.get(message.id)?.abort(message.reason)
}

/** Read messages until the gateway closes stdin, then exit. */
export async function serve(): Promise<never> {
  registerSdkModule()
  // A tool's stray rejection or throw in a timer must not end the host (and every other tool's calls).
  process.on("unhandledRejection", (error) => console.error(`unhandled rejection in a tool: ${describeError(error)}`))
  process.on("uncaughtException", (error) => console.error(`uncaught exception in a tool: ${describeError(error)}`))
  const decoder = new TextDecoder()
  let buffer = ""
  for await (const chunk of Bun.stdin.stream()) {
    buffer += decoder.decode(chunk, { stream: true })
    let end = buffer.indexOf("\n")
    while (end >= 0) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      if (line) handle(line)
      end = buffer.indexOf("\n")
    }
  }
  process.exit(0)
}
