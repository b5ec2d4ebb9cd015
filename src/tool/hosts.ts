/**
 * How tool hosts are started: the runtime itself (the compiled binary with a hidden argument, or from
 * source `bun src/index.ts` with it) inside the OS sandbox, with the workspace view. What a host sees:
 * the read roots read-only, the mutable roots writable, loaded code (the tools themselves, the config,
 * node_modules…) read-only, the state folder and `.env` files hidden, the runtime's own files
 * read-only; an environment of PATH and locale only, plus what `tools.grants` names for that tool;
 * no network unless granted. What a tool declares (`permissions`, `sandbox: "none"`) never widens this.
 *
 * Where no OS sandbox works (and the owner did not set `sandbox: "off"`), no host is started: every
 * tool file is rejected with the reason and the fix.
 */
import { existsSync, lstatSync, realpathSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Sandbox } from "../sandbox/sandbox.ts"
import type { SandboxSpec } from "../sandbox/spec.ts"
import type { Logger } from "../util/log.ts"
import type { Boundary } from "../workspace/boundary.ts"
import { missingCode, sweep, viewSpec, watchCode } from "../workspace/view.ts"
import { grantedEnv, type ToolGrant } from "./grants.ts"
import { type HostProcess, startHost } from "./host-process.ts"
import { HOST_ARG } from "./protocol.ts"

export interface ToolHostsOptions {
  workspace: string
  /** The workspace's tools folder. */
  toolsDir: string
  boundary: Boundary
  /** Absolute read and mutable roots (tools.roots, tools.mutableRoots). */
  roots: { read: string[]; write: string[] }
  sandbox: Sandbox
  log: Logger
}

export const NO_GRANT: ToolGrant = { env: [], network: false }

/** Whether a grant gives anything beyond the default (then the tool gets a host of its own). */
export const grants = (grant: ToolGrant) => grant.env.length > 0 || grant.network

/** The host command line of this runtime, and the files it needs to see. */
export function hostRuntime(): { argv: string[]; read: string[]; cwd: string | null } {
  const executable = realpathSync(process.execPath)
  if (import.meta.url.includes("$bunfs")) return { argv: [executable, HOST_ARG], read: [executable], cwd: null }
  const src = dirname(dirname(fileURLToPath(import.meta.url)))
  // From source: no .env loading, no auto-install from the registry; started in src/ so no bunfig.toml
  // of the workspace applies (the host changes into the workspace when it loads).
  return {
    argv: [executable, "--no-install", "--no-env-file", join(src, "index.ts"), HOST_ARG],
    read: [executable, src],
    cwd: src,
  }
}

const unique = (list: string[]) => list.filter((item, index) => list.indexOf(item) === index)

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

export function createToolHosts(options: ToolHostsOptions) {
  const runtime = hostRuntime()
  const within = (path: string) =>
    [...options.roots.read, ...options.roots.write].some((root) => path === root || path.startsWith(`${root}/`))
  /** The tools' working folder: the workspace when a root shows it, else the tools folder. */
  const cwd = within(options.workspace) ? options.workspace : options.toolsDir
  const modules = join(options.workspace, "node_modules")

  const hosts = {
    cwd,
    /** Null when hosts can run here; else why not and what to do, for every tool file's rejection. */
    async unavailable(): Promise<string | null> {
      const status = await options.sandbox.check()
      if (status.kind) return null
      return `not loaded: workspace tools run only inside the OS sandbox, and none works here (${status.reason}); install bubblewrap (Linux) or set "sandbox": "off" in the config to run them unconfined`
    },

    /**
     * The sandbox spec of a tool process: the workspace view plus `extraRead`, `env` and the grant's
     * variables and network, working in `at` (default: where the runtime starts).
     */
    spec(grant: ToolGrant, extraRead: string[], env: Record<string, string> = {}, at?: string): SandboxSpec {
      const listed = [
        ...options.roots.read,
        options.toolsDir,
        ...(existsSync(modules) ? [modules] : []),
        ...runtime.read,
        ...extraRead,
      ]
      // bubblewrap cannot mount onto a symlink (an absolute one resolves outside the new root), and
      // following one would let a tool that plants `skills -> /etc` expose its target to the next
      // host: symlinked paths are left out (a symlinked node_modules is not visible inside).
      const read = unique(listed).filter((path) => !isLink(path))
      const base = {
        PATH: "/usr/local/bin:/usr/bin:/bin",
        LANG: "C.UTF-8",
        NO_COLOR: "1",
        // Bun would cache transpiled files under HOME; nothing of a host should outlive it.
        BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0",
      }
      const spec = viewSpec(
        { boundary: options.boundary, read, write: options.roots.write },
        at ?? runtime.cwd ?? cwd,
        { ...base, ...env, ...grantedEnv(grant) },
        grant.network,
      )
      return { ...spec, readOnly: spec.readOnly.filter((path) => !isLink(path)) }
    },

    /** Start a host (throws SandboxUnavailable where none works; `unavailable()` says so first). */
    async spawn(label: string, grant: ToolGrant = NO_GRANT, extraRead: string[] = []): Promise<HostProcess> {
      const spec = hosts.spec(grant, extraRead)
      const wrapped = await options.sandbox.command(spec, runtime.argv)
      const command = { argv: wrapped.argv, env: wrapped.env, cwd: spec.cwd, cleanup: wrapped.cleanup }
      // Between calls too (a tool's timer): loaded code a host creates is undone as it appears.
      const unwatch = watchCode(options.boundary, (removed) =>
        options.log.warn("a workspace tool created loaded code; removed (it changes only through evolve)", { removed }),
      )
      const host = startHost(command, { log: options.log, label, window: hosts.guard })
      host.onDeath(unwatch)
      return host
    },

    /**
     * A loaded-code file that did not exist (another config file name, a new `src/`) cannot be mounted
     * read-only, so one a tool creates during a load or a call is removed when it ends, like the shell
     * does. Call `guard()` when it starts; the returned function when it ends.
     */
    guard(): () => void {
      const missing = missingCode(options.boundary)
      return () => {
        const removed = sweep(options.boundary, missing)
        if (removed.length)
          options.log.warn("a workspace tool created loaded code; removed (it changes only through evolve)", {
            removed,
          })
      }
    },
  }
  return hosts
}

export type ToolHosts = ReturnType<typeof createToolHosts>
