/**
 * The workspace tool worker: one per tool generation. It registers the `drost` virtual module in its
 * own thread (Bun plugins are per thread), imports the tool files, reports what loaded and what did
 * not, and runs calls. Terminating the worker frees every module it imported, so reloads don't leak.
 *
 * BUILD NOTE: this file is a separate entry point. `build.ts` must pass it to `bun build --compile`
 * next to `src/index.ts` (e.g. `bun build --compile src/index.ts src/tool/worker.ts`), otherwise the
 * compiled binary cannot start tool workers.
 */
import type { ToolDefinition } from "../sdk/mod.ts"
import { type FromWorker, type ToolMeta, type ToWorker, describeError, shapeProblem } from "./protocol.ts"
import { registerSdkModule } from "./sdk-plugin.ts"

declare const self: Worker

registerSdkModule()

const tools = new Map<string, ToolDefinition>()
const running = new Map<number, AbortController>()
const post = (message: FromWorker) => self.postMessage(message)

async function load(files: string[], version: number, importTimeoutMs: number) {
  const metas: ToolMeta[] = []
  const rejected: { file: string; reason: string }[] = []
  for (const file of files) {
    try {
      let timer: Timer | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`importing took longer than ${importTimeoutMs} ms (top-level code that never finishes?)`)),
          importTimeoutMs,
        )
      })
      const mod = (await Promise.race([import(`${file}?v=${version}`), timeout]).finally(() =>
        clearTimeout(timer),
      )) as { default?: unknown }
      const problem = shapeProblem(mod.default)
      if (problem) {
        rejected.push({ file, reason: problem })
        continue
      }
      const tool = mod.default as ToolDefinition & ToolMeta
      if (tools.has(tool.name)) {
        rejected.push({
          file,
          reason: `name clash: "${tool.name}" is also defined by ${metas.find((meta) => meta.name === tool.name)?.file}`,
        })
        continue
      }
      tools.set(tool.name, tool)
      metas.push({
        file,
        name: tool.name,
        description: tool.description,
        parameters: JSON.parse(JSON.stringify(tool.parameters)),
        permissions: tool.permissions,
        sandbox: tool.sandbox,
        timeoutMs: tool.timeoutMs,
      })
    } catch (error) {
      rejected.push({ file, reason: describeError(error).replaceAll(`?v=${version}`, "") })
    }
  }
  post({ type: "loaded", tools: metas, rejected })
}

async function call(message: Extract<ToWorker, { type: "call" }>) {
  const tool = tools.get(message.name)
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

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data
  if (message.type === "load") void load(message.files, message.version, message.importTimeoutMs)
  else if (message.type === "call") void call(message)
  else running.get(message.id)?.abort(message.reason)
}
