/**
 * The workspace tool loader. `refresh()` (called at every turn start) looks at `tools/`; when anything
 * changed it starts a new generation: a fresh Worker imports every tool file, the registry's
 * "workspace" group is swapped in one step, and the previous worker is terminated once its running
 * calls are done. A broken file becomes a rejection with a reason; a hanging call is stopped at its
 * timeout (the worker is replaced if it doesn't let go); nothing here can crash the gateway.
 */
import { readdirSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import type { Logger } from "../util/log.ts"
import { type Emit, ToolsEvent } from "./events.ts"
import type { CallContext, FromWorker, ToolMeta, ToWorker } from "./protocol.ts"
import type { Rejection, RegisteredTool, ToolRegistry } from "./registry.ts"
import { compile } from "./validate.ts"

export const GROUP = "workspace"
const TOOL_FILE = /\.(ts|js|mjs)$/
const HELPER = /(^|\/)(_[^/]*|lib\/.*|.*\.test\.(ts|js|mjs)|.*\.d\.ts)$/
/** How long a worker may ignore an abort before it is terminated. */
const ABORT_GRACE_MS = 500

export interface LoaderOptions {
  /** The workspace's `tools/` folder. */
  dir: string
  registry: ToolRegistry
  log: Logger
  emit?: Emit
  importTimeoutMs?: number
  /** Runs a call outside the worker (the Deno sandbox); null = run in the worker. */
  sandboxFor?: (
    meta: ToolMeta,
  ) => ((args: unknown, context: CallContext, signal: AbortSignal) => Promise<unknown>) | null
}

export interface LoadResult {
  generation: number
  tools: ToolMeta[]
  rejected: Rejection[]
  durationMs: number
}

interface Generation {
  worker: Worker
  number: number
  pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void; log: CallLog }>
  retired: boolean
  dead: boolean
}

type CallLog = {
  info(m: string, f?: Record<string, unknown>): void
  warn(m: string, f?: Record<string, unknown>): void
  error(m: string, f?: Record<string, unknown>): void
}

/** Every file under `dir` (helpers included: editing a helper reloads its users), with mtime and size. */
export function scan(dir: string): { files: string[]; signature: string } {
  let entries: string[] = []
  try {
    entries = readdirSync(dir, { recursive: true, encoding: "utf8" })
  } catch {}
  const parts: string[] = []
  const files: string[] = []
  for (const entry of entries.sort()) {
    if (entry.split("/").some((part) => part === "node_modules" || part.startsWith("."))) continue
    const path = join(dir, entry)
    const info = statSync(path, { throwIfNoEntry: false })
    if (!info?.isFile()) continue
    parts.push(`${entry}:${info.mtimeMs}:${info.size}`)
    if (TOOL_FILE.test(entry) && !HELPER.test(entry)) files.push(path)
  }
  return { files, signature: parts.join("|") }
}

/**
 * Where the worker entry is. From source it sits beside this file. In the compiled binary every
 * entry point keeps its path relative to the entry points' common folder (src/), under /$bunfs/root;
 * `import.meta.url` there names the executable, not this file, so the path is spelled out.
 */
export function workerUrl(): string {
  if (!import.meta.url.includes("$bunfs")) return new URL("./worker.ts", import.meta.url).href
  return "/$bunfs/root/tool/worker.ts"
}

export function createWorkspaceLoader(options: LoaderOptions) {
  let current: Generation | null = null
  let signature: string | null = null
  let counter = 0
  let callIds = 0
  let chain: Promise<unknown> = Promise.resolve()
  let last: LoadResult = { generation: 0, tools: [], rejected: [], durationMs: 0 }

  const retire = (gen: Generation) => {
    gen.retired = true
    if (gen.pending.size === 0 && !gen.dead) {
      gen.dead = true
      gen.worker.terminate()
    }
  }

  const kill = (gen: Generation, reason: string) => {
    if (gen.dead) return
    gen.dead = true
    gen.worker.terminate()
    for (const entry of gen.pending.values()) entry.reject(new Error(reason))
    gen.pending.clear()
    if (current === gen) signature = null // the next refresh starts a fresh worker
  }

  const spawn = (number: number): Generation => {
    const worker = new Worker(workerUrl())
    const gen: Generation = { worker, number, pending: new Map(), retired: false, dead: false }
    worker.addEventListener("message", (event: MessageEvent<FromWorker>) => {
      const message = event.data
      if (message.type === "log") {
        gen.pending.get(message.id)?.log[message.level](message.message, message.fields)
        return
      }
      if (message.type !== "result") return
      const entry = gen.pending.get(message.id)
      if (!entry) return
      gen.pending.delete(message.id)
      if (message.ok) entry.resolve(message.value)
      else entry.reject(new Error(message.error))
      if (gen.retired && gen.pending.size === 0) retire(gen)
    })
    worker.addEventListener("error", (event) => {
      options.log.error("tool worker failed", { generation: number, error: event.message })
      kill(gen, `the tool worker crashed: ${event.message}`)
    })
    return gen
  }

  const callIn =
    (gen: Generation, meta: ToolMeta): RegisteredTool["execute"] =>
    (args, ctx) => {
      if (gen.dead) throw new Error("the workspace tools were reloaded while this call was queued; call the tool again")
      const id = ++callIds
      const context: CallContext = {
        sessionId: ctx.sessionId,
        turnId: ctx.turnId,
        callId: ctx.callId,
        workspace: ctx.workspace,
      }
      return new Promise((resolve, reject) => {
        gen.pending.set(id, { resolve, reject, log: ctx.log })
        gen.worker.postMessage({ type: "call", id, name: meta.name, args, context } satisfies ToWorker)
        ctx.signal.addEventListener(
          "abort",
          () => {
            if (!gen.pending.has(id)) return
            gen.worker.postMessage({ type: "abort", id, reason: String(ctx.signal.reason) } satisfies ToWorker)
            // The worker may be stuck (a busy loop never reads the abort): the next turn gets a fresh one.
            if (current === gen) signature = null
            // A tool stuck in a busy loop never reads the abort; replace the whole worker.
            setTimeout(() => {
              if (gen.pending.has(id)) {
                options.log.warn("tool ignored its abort; terminating its worker", {
                  tool: meta.name,
                  generation: gen.number,
                })
                kill(gen, `${meta.name} did not stop after its abort`)
              }
            }, ABORT_GRACE_MS)
          },
          { once: true },
        )
      })
    }

  async function load(files: string[]): Promise<LoadResult> {
    const started = performance.now()
    const number = ++counter
    if (files.length === 0) {
      // Nothing to load: no worker at all (the common case of an empty tools/ folder).
      options.registry.setGroup(GROUP, [])
      if (current) retire(current)
      current = null
      last = {
        generation: number,
        tools: [],
        rejected: [],
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      }
      options.emit?.(ToolsEvent.Reloaded, { generation: number, loaded: [], rejected: [], durationMs: last.durationMs })
      return last
    }
    const gen = spawn(number)
    const importTimeoutMs = options.importTimeoutMs ?? 10_000
    const loaded = await new Promise<Extract<FromWorker, { type: "loaded" }>>((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            type: "loaded",
            tools: [],
            rejected: files.map((file) => ({ file, reason: "the tool worker did not answer" })),
          }),
        importTimeoutMs * (files.length + 1),
      )
      gen.worker.addEventListener("message", (event: MessageEvent<FromWorker>) => {
        if (event.data.type !== "loaded") return
        clearTimeout(timer)
        resolve(event.data)
      })
      gen.worker.addEventListener("error", (event) => {
        clearTimeout(timer)
        resolve({
          type: "loaded",
          tools: [],
          rejected: files.map((file) => ({ file, reason: `the tool worker crashed while loading: ${event.message}` })),
        })
      })
      gen.worker.postMessage({ type: "load", files, version: number, importTimeoutMs } satisfies ToWorker)
    })
    const rel = (file: string) => relative(join(options.dir, ".."), file)
    const rejected: Rejection[] = loaded.rejected.map((item) => ({
      group: GROUP,
      file: rel(item.file),
      reason: item.reason,
    }))
    const registered: RegisteredTool[] = []
    const metas: ToolMeta[] = []
    for (const meta of loaded.tools) {
      try {
        compile(meta.parameters)
      } catch (error) {
        rejected.push({
          group: GROUP,
          file: rel(meta.file),
          name: meta.name,
          reason: `parameters is not a valid JSON Schema: ${(error as Error).message}`,
        })
        continue
      }
      const sandboxed = options.sandboxFor?.(meta) ?? null
      metas.push(meta)
      registered.push({
        name: meta.name,
        description: meta.description,
        parameters: meta.parameters,
        source: "workspace",
        file: rel(meta.file),
        timeoutMs: meta.timeoutMs,
        runner: sandboxed ? "deno" : "worker",
        execute: sandboxed
          ? (args, ctx) =>
              sandboxed(
                args,
                { sessionId: ctx.sessionId, turnId: ctx.turnId, callId: ctx.callId, workspace: ctx.workspace },
                ctx.signal,
              )
          : callIn(gen, meta),
      })
    }
    const clashes = options.registry.setGroup(GROUP, registered, rejected)
    const names = new Set(clashes.map((item) => item.name))
    const previous = current
    current = gen
    if (previous) retire(previous)
    if (registered.length === 0 && !gen.dead) retire(gen) // nothing to run: don't keep an idle thread
    last = {
      generation: number,
      tools: metas.filter((meta) => !names.has(meta.name)),
      rejected: clashes,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    }
    options.emit?.(ToolsEvent.Reloaded, {
      generation: number,
      loaded: last.tools.map((meta) => meta.name),
      rejected: clashes.map((item) => ({ file: item.file, reason: item.reason })),
      durationMs: last.durationMs,
    })
    options.log.info("workspace tools loaded", {
      generation: number,
      tools: last.tools.length,
      rejected: clashes.length,
      ms: last.durationMs,
    })
    return last
  }

  return {
    /** Reload when `tools/` changed since the last load (or `force`). Calls are serialised. */
    refresh(force = false): Promise<LoadResult> {
      const next = chain.then(async () => {
        const found = scan(options.dir)
        if (!force && found.signature === signature) return last
        signature = found.signature
        return load(found.files)
      })
      chain = next.catch(() => {})
      return next
    },
    last: () => last,
    generation: () => counter,
    /** Terminate the workers (gateway stop). */
    close() {
      if (current) kill(current, "the gateway stopped")
      current = null
      options.registry.setGroup(GROUP, [])
    },
  }
}

export type WorkspaceLoader = ReturnType<typeof createWorkspaceLoader>
