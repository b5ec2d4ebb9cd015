/**
 * Everything tool-related the gateway needs, built from the config in one call: the registry with its
 * policy, the built-ins confined to the roots, the workspace tool loader (with the Deno sandbox when
 * asked for) and the MCP servers. The gateway wires `refresh()` to the start of every turn.
 */
import { resolve } from "node:path"
import type { Config } from "../core/config.ts"
import { Value } from "../core/schema.ts"
import { ToolsConfig } from "../core/tools-config.ts"
import type { Logger } from "../util/log.ts"
import { fileTools } from "./builtin/file.ts"
import { gitTools } from "./builtin/git.ts"
import { searchTool } from "./builtin/search.ts"
import { type BackgroundShell, shellTool } from "./builtin/shell.ts"
import { type SecretLookup, webSearchTool } from "./builtin/search-web.ts"
import { webTool } from "./builtin/web.ts"
import type { Emit } from "./events.ts"
import { createWorkspaceLoader, type LoadResult } from "./loader.ts"
import { createMcp } from "./mcp.ts"
import { createToolRegistry, type ToolRegistry } from "./registry.ts"
import type { Roots } from "../workspace/roots.ts"
import { createDenoRunner, findDeno } from "./sandbox.ts"
import { createToolHosts } from "./hosts.ts"
import { createSandbox as createOsSandbox } from "../sandbox/sandbox.ts"
import { createAccess } from "../workspace/access.ts"
import { boundaryOf } from "../workspace/boundary.ts"
import { grantFor } from "./grants.ts"

export interface ToolsetOptions {
  log: Logger
  emit?: Emit
  health(component: string, problem: string | null): void
  /** The secret of an auth profile (gateway/auth.ts), for tools that call a keyed API (web.search). */
  secret?: SecretLookup
  /** Entry files of the loaded plugins that bring tools; they load in the sandboxed tool hosts too. */
  pluginFiles?: () => string[]
}

/** The tools section with every default filled in (configs built by hand in tests may omit it). */
export function toolsConfig(config: Pick<Config, "tools">): ToolsConfig {
  return Value.Default(ToolsConfig, structuredClone(config.tools ?? {})) as ToolsConfig
}

export function rootsOf(config: Pick<Config, "workspaceDir" | "tools">): Roots {
  const tools = toolsConfig(config)
  const at = (path: string) => resolve(config.workspaceDir, path)
  const unique = (list: string[]) => list.map(at).filter((root, index, all) => all.indexOf(root) === index)
  return { read: unique(tools.roots), write: unique(tools.mutableRoots) }
}

export function createToolset(config: Config, options: ToolsetOptions) {
  const tools = toolsConfig(config)
  const roots = rootsOf(config)
  /** The secret and loaded-code paths, and the OS sandbox everything the model can run goes through. */
  const boundary = boundaryOf({ ...config, tools })
  const confine = createOsSandbox(config.sandbox ?? "auto")
  const registry: ToolRegistry = createToolRegistry({
    timeoutMs: config.agent.toolTimeoutMs,
    outputLimit: config.agent.toolOutputLimit,
    log: options.log,
    policy: () => tools,
    // A tool that runs model-controlled code is off where no OS sandbox works (and "off" wasn't chosen).
    unavailable: (tool) => (tool.confined && confine.status()?.kind === null ? confine.status()!.reason : null),
    emit: options.emit,
  })
  /** File, search and git tools reach the workspace only through this (roots + boundary, race-free open). */
  const access = createAccess({ read: roots.read, write: roots.write, boundary })
  const getAccess = () => access
  for (const tool of fileTools(getAccess)) registry.register(tool)
  /** Runs `shell` calls with background: true; set by the gateway once its job service exists. */
  let background: BackgroundShell | undefined
  registry.register(searchTool(getAccess))
  registry.register(
    shellTool(() => ({
      roots,
      boundary,
      sandbox: confine,
      options: { ...tools.shell, guardPaths: tools.profile !== "permissive" },
      grant: grantFor(tools.grants, "shell"),
      background,
    })),
  )
  for (const tool of gitTools(getAccess, () => tools.git)) registry.register(tool)
  registry.register(webTool(() => tools.web))
  const webSearch = tools.web.search
  if (webSearch)
    registry.register(
      webSearchTool(
        () => ({ search: webSearch, timeoutMs: tools.web.timeoutMs, allowHosts: tools.web.allowHosts }),
        options.secret ?? (() => undefined),
      ),
    )

  // Workspace tools: a sandboxed host process per generation (hosts.ts), Deno calls in the same sandbox.
  const toolsDir = resolve(config.workspaceDir, tools.dir)
  const hosts = createToolHosts({
    workspace: config.workspaceDir,
    toolsDir,
    boundary,
    roots,
    sandbox: confine,
    log: options.log,
  })
  const deno = findDeno(config.workspaceDir, tools.deno)
  const sandbox = deno ? createDenoRunner({ workspace: config.workspaceDir, deno, hosts, sandbox: confine }) : null
  const loader = createWorkspaceLoader({
    dir: toolsDir,
    registry,
    log: options.log,
    emit: options.emit,
    hosts,
    grantFor: (name) => grantFor(tools.grants, name),
    pluginFiles: options.pluginFiles,
    denoFor(meta, grant) {
      // The owner's tools.sandbox "deno" applies to every tool: a tool can opt in, never out.
      if (tools.sandbox !== "deno" && meta.sandbox !== "deno") return null
      if (!sandbox)
        return async () => {
          throw new Error(
            `${meta.name} must run in the Deno sandbox, but no deno executable was found (install deno or set tools.deno); it was not run`,
          )
        }
      return (args, context, signal) => sandbox.run(meta, grant, args, context, signal)
    },
  })
  const mcp = createMcp({
    servers: config.mcp?.servers ?? {},
    workspace: config.workspaceDir,
    registry,
    log: options.log,
    emit: options.emit,
    health: options.health,
    confine: { sandbox: confine, boundary, read: roots.read, write: roots.write },
  })

  let lastLoad: LoadResult | null = null
  return {
    registry,
    loader,
    /** Starts sandboxed tool hosts (also for `drost tool check`). */
    hosts,
    mcp,
    roots,
    boundary,
    /** The OS sandbox (bubblewrap / Seatbelt / off); `confine.check()` says which works here. */
    confine,
    deno,
    /** Load the workspace tools once and start connecting the MCP servers (in the background). */
    async start() {
      // Probe the OS sandbox once, in the background: /healthz need not wait for it (a few ms of spawn);
      // whatever needs the answer (a tool host, an MCP server, a shell call, /status) awaits check().
      void confine.check()
      lastLoad = await loader.refresh(true)
      void mcp.start()
    },
    /** Where `shell` with background: true runs its commands (the gateway's job service). */
    setBackground(next: BackgroundShell) {
      background = next
    },
    /** Pick up added, edited and deleted tool files; cheap when nothing changed. */
    async refresh() {
      lastLoad = await loader.refresh()
      return lastLoad
    },
    async stop() {
      loader.close()
      sandbox?.close()
      await mcp.stop()
    },
    /** For /tools and status: what is loaded, what was rejected and why, MCP state. */
    status() {
      return {
        generation: loader.generation(),
        rejected: registry.rejected(),
        mcp: mcp.status(),
        sandbox: sandbox ? { deno } : null,
        profile: tools.profile,
        lastLoadMs: lastLoad?.durationMs ?? null,
        workspaceDir: toolsDir,
      }
    },
  }
}

export type Toolset = ReturnType<typeof createToolset>
