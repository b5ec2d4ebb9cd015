/**
 * The workspace tool loader. `refresh()` (called at every turn start) looks at `tools/` (folder.ts: a
 * watch says whether anything changed, so a quiet folder is not listed again); when anything changed
 * it starts a new generation: a fresh tool host process (hosts.ts: inside the OS sandbox, no
 * secrets, no network) imports every tool file, the registry's "workspace" group is swapped in one
 * step, and the previous host is stopped once its running calls are done. A tool with a grant
 * (`tools.grants`) gets a host of its own with exactly that grant; a Deno tool's calls run in `deno
 * run`, inside the same OS sandbox (sandbox.ts).
 *
 * A broken file becomes a rejection with a reason. A host that dies while importing a file (a
 * `process.abort()`, a kill of its own pid, running out of memory) or hangs in one is blamed on that
 * file, and the other files are loaded in a new host; a host that dies later fails its running calls
 * and the next refresh starts a new one. Nothing a tool does can take the gateway down.
 */
import { join, relative } from "node:path"
import type { Logger } from "../util/log.ts"
import { type Emit, ToolsEvent } from "./events.ts"
import { toolsFolder } from "./folder.ts"
import type { ToolGrant } from "./grants.ts"
import type { HostProcess } from "./host-process.ts"
import { grants, NO_GRANT, type ToolHosts } from "./hosts.ts"
import type { CallContext, ToolMeta } from "./protocol.ts"
import type { RegisteredTool, Rejection, ToolRegistry } from "./registry.ts"
import { compile } from "./validate.ts"

export const GROUP = "workspace"
/** Lists tools/ now, without a watch (drost tool check, the evolve gates). */
export { scan } from "./folder.ts"

/** Runs one call somewhere other than the tool's host (the Deno runner). */
export type Runner = (args: unknown, context: CallContext, signal: AbortSignal) => Promise<unknown>

export interface LoaderOptions {
  /** The workspace's `tools/` folder. */
  dir: string
  registry: ToolRegistry
  log: Logger
  emit?: Emit
  importTimeoutMs?: number
  hosts: ToolHosts
  /** What the owner granted a tool (default: nothing). */
  grantFor?: (name: string) => ToolGrant
  /** Runs a tool's calls under Deno instead of its host; null = in the host. */
  denoFor?: (meta: ToolMeta, grant: ToolGrant) => Runner | null
  /** Entry files of loaded plugins with tools (src/plugins): served in the same hosts, same generation. */
  pluginFiles?: () => string[]
  /** Watch tools/ (folder.ts) instead of listing and stating it at every refresh (default true). */
  watch?: boolean
}

export interface LoadResult {
  generation: number
  tools: ToolMeta[]
  rejected: Rejection[]
  durationMs: number
}

export interface Loaded {
  host: HostProcess | null
  tools: ToolMeta[]
  rejected: { file: string; reason: string }[]
}

export interface LoadRequest {
  label: string
  files: string[]
  version: number
  importTimeoutMs: number
  grant?: ToolGrant
  /** More paths the host must see (a file checked from outside tools/). */
  extraRead?: string[]
  log?: Logger
  /** Told about every host started (the loader tracks them for close()). */
  started?: (host: HostProcess) => void
}

/**
 * Load files in a new host. When the host dies or hangs on one file, that file is rejected and the
 * rest are loaded again in another host, so one bad file never costs the others.
 */
export async function loadInHost(hosts: ToolHosts, request: LoadRequest): Promise<Loaded> {
  const rejected: Loaded["rejected"] = []
  const all = (reason: string, files: string[]): Loaded => ({
    host: null,
    tools: [],
    rejected: [...rejected, ...files.map((file) => ({ file, reason }))],
  })
  let remaining = request.files
  while (remaining.length) {
    let host: HostProcess
    try {
      host = await hosts.spawn(request.label, request.grant, request.extraRead)
    } catch (error) {
      return all(`the tool host could not start: ${(error as Error).message}`, remaining)
    }
    request.started?.(host)
    const outcome = await host.load(remaining, request.version, request.importTimeoutMs, hosts.cwd)
    if (outcome.kind === "loaded") return { host, tools: outcome.tools, rejected: [...rejected, ...outcome.rejected] }
    host.kill(outcome.reason)
    const culprit = outcome.file
    if (!culprit) return all(outcome.reason, remaining)
    request.log?.warn("a workspace tool ended its host while loading", { file: culprit, reason: outcome.reason })
    rejected.push({ file: culprit, reason: outcome.reason })
    remaining = remaining.filter((file) => file !== culprit)
  }
  return { host: null, tools: [], rejected }
}

export function createWorkspaceLoader(options: LoaderOptions) {
  let signature: string | null = null
  const folder = toolsFolder(options.dir, { watch: options.watch })
  let watched: boolean | null = null
  let counter = 0
  let chain: Promise<unknown> = Promise.resolve()
  let last: LoadResult = { generation: 0, tools: [], rejected: [], durationMs: 0 }
  /** Hosts the current generation's tools run in; `live` also holds retired ones finishing calls. */
  let current: HostProcess[] = []
  const live = new Set<HostProcess>()
  const importTimeoutMs = options.importTimeoutMs ?? 10_000
  const grantOf = (name: string) => options.grantFor?.(name) ?? NO_GRANT

  const track = (host: HostProcess) => {
    live.add(host)
    host.onDeath(() => {
      live.delete(host)
      // A host of the current generation is gone: the next refresh starts a new one.
      if (current.includes(host)) signature = null
    })
  }

  const contextOf = (ctx: CallContext): CallContext => ({
    sessionId: ctx.sessionId,
    turnId: ctx.turnId,
    callId: ctx.callId,
    workspace: ctx.workspace,
  })

  const finish = (number: number, started: number, tools: ToolMeta[], rejected: Rejection[]): LoadResult => {
    last = { generation: number, tools, rejected, durationMs: Math.round((performance.now() - started) * 100) / 100 }
    options.emit?.(ToolsEvent.Reloaded, {
      generation: number,
      loaded: tools.map((meta) => meta.name),
      rejected: rejected.map((item) => ({ file: item.file, reason: item.reason })),
      durationMs: last.durationMs,
    })
    return last
  }

  const swap = (hosts: HostProcess[]) => {
    const previous = current
    current = hosts
    for (const host of previous) host.retire()
  }

  async function load(files: string[]): Promise<LoadResult> {
    const started = performance.now()
    const number = ++counter
    const rel = (file: string) => relative(join(options.dir, ".."), file)
    if (files.length === 0) {
      // Nothing to load: no host at all (the common case of an empty tools/ folder).
      options.registry.setGroup(GROUP, [])
      swap([])
      return finish(number, started, [], [])
    }
    const problem = await options.hosts.unavailable()
    if (problem) {
      const rejected = files.map((file) => ({ group: GROUP, file: rel(file), reason: problem }))
      options.registry.setGroup(GROUP, [], rejected)
      swap([])
      options.log.warn("workspace tools not loaded: no OS sandbox", { files: files.length, reason: problem })
      return finish(number, started, [], rejected)
    }

    const request = { version: number, importTimeoutMs, log: options.log, started: track }
    const main = await loadInHost(options.hosts, { ...request, label: `generation ${number}`, files })
    const rejected: Rejection[] = main.rejected.map((item) => ({
      group: GROUP,
      file: rel(item.file),
      reason: item.reason,
    }))
    const valid = main.tools.filter((meta) => {
      try {
        compile(meta.parameters)
        return true
      } catch (error) {
        const reason = `parameters is not a valid JSON Schema: ${(error as Error).message}`
        rejected.push({ group: GROUP, file: rel(meta.file), name: meta.name, reason })
        return false
      }
    })
    // A granted tool runs in a host of its own, started with exactly its grant.
    const placed = await Promise.all(
      valid.map(async (meta) => {
        const grant = grantOf(meta.name)
        if (!grants(grant)) return { meta, grant, host: main.host }
        const label = `generation ${number} (${meta.name}, granted)`
        const own = await loadInHost(options.hosts, { ...request, label, files: [meta.file], grant })
        const mine = own.tools.find((tool) => tool.name === meta.name)
        if (!mine) {
          own.host?.kill("not needed")
          const reason = own.rejected[0]?.reason ?? `its granted host did not load ${meta.name}`
          rejected.push({ group: GROUP, file: rel(meta.file), name: meta.name, reason })
          return null
        }
        return { meta: mine, grant, host: own.host }
      }),
    )
    const registered: RegisteredTool[] = []
    const metas: ToolMeta[] = []
    const used = new Set<HostProcess>()
    for (const item of placed) {
      if (!item?.host) continue
      const { meta, grant, host } = item
      const deno = options.denoFor?.(meta, grant) ?? null
      if (!deno) used.add(host)
      metas.push(meta)
      registered.push({
        name: meta.name,
        description: meta.description,
        parameters: meta.parameters,
        source: "workspace",
        file: rel(meta.file),
        timeoutMs: meta.timeoutMs,
        runner: deno ? "deno" : "host",
        execute: (args, ctx) =>
          deno
            ? deno(args, contextOf(ctx), ctx.signal)
            : host.call(meta.name, args, contextOf(ctx), ctx.signal, ctx.log),
      })
    }
    const clashes = options.registry.setGroup(GROUP, registered, rejected)
    const names = new Set(clashes.map((item) => item.name))
    // Hosts no tool runs in (all rejected, or every call goes to Deno) are not kept idle.
    const spawned = [main.host, ...placed.map((item) => item?.host)]
    for (const host of spawned) if (host && !used.has(host)) host.retire()
    swap([...used])
    const result = finish(
      number,
      started,
      metas.filter((meta) => !names.has(meta.name)),
      clashes,
    )
    options.log.info("workspace tools loaded", {
      generation: number,
      tools: result.tools.length,
      rejected: clashes.length,
      ms: result.durationMs,
    })
    return result
  }

  return {
    /** Reload when `tools/` changed since the last load (or `force`). Calls are serialised. */
    refresh(force = false): Promise<LoadResult> {
      const next = chain.then(async () => {
        const scanned = folder.read(force)
        if (folder.watching() !== watched) {
          watched = folder.watching()
          if (watched) options.log.debug("tools/ is watched: listed again only after a change", { dir: options.dir })
          else options.log.debug("tools/ is not watched: listed at every turn start", { dir: options.dir })
        }
        const plugins = options.pluginFiles?.() ?? []
        const found = plugins.length
          ? { files: [...scanned.files, ...plugins], signature: [scanned.signature, ...plugins].join("|") }
          : scanned
        // A host stuck in an aborted call (a busy loop) is replaced rather than handed the next calls.
        const stuck = current.some((host) => host.stuck())
        if (!force && !stuck && found.signature === signature) return last
        signature = found.signature
        return load(found.files)
      })
      chain = next.catch(() => {})
      return next
    },
    last: () => last,
    generation: () => counter,
    /** Whether tools/ is watched now (false: the next refresh lists and stats it again). */
    watching: () => folder.watching(),
    /** The running hosts' process ids (tests, status). */
    pids: () => current.filter((host) => !host.dead()).map((host) => host.pid),
    /** Stop every host (gateway stop); their whole process trees go with them. */
    close() {
      folder.close()
      for (const host of live) host.kill("the gateway stopped")
      live.clear()
      current = []
      options.registry.setGroup(GROUP, [])
    },
  }
}

export type WorkspaceLoader = ReturnType<typeof createWorkspaceLoader>
