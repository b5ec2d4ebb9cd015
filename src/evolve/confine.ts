/**
 * Where evolution's gates run the code they check: the OS sandbox with the workspace view, all of it
 * read-only (tools/, src/ and the change being gated included, so a tool's top-level code or a test
 * cannot rewrite what is being gated), `.drost/`, `.env` files and the config hidden (the config gate
 * alone reads the config), no network and an environment of PATH, LANG, TERM and TZ only. The owner may hand the gates more with the exact key
 * `tools.grants["evolution.gates"]` (env names, network); patterns like "*" do not match it, and a
 * transaction can never change it (guard.ts).
 *
 * Where no sandbox works (`check()` → kind null) the gates do not run code unconfined: `unconfined()`
 * gives the reason and the transaction is refused. With `sandbox: "off"` they run without confinement,
 * still with the bare environment, and every gate's output carries a warning.
 */
import { lstatSync, realpathSync } from "node:fs"
import { isAbsolute, relative, resolve } from "node:path"
import type { Config } from "../core/config.ts"
import { createSandbox, type RunResult, type Sandbox } from "../sandbox/sandbox.ts"
import type { SandboxSpec } from "../sandbox/spec.ts"
import { Flag } from "../util/flag.ts"
import { boundaryOf, CONFIG_NAMES } from "../workspace/boundary.ts"
import { viewSpec } from "../workspace/view.ts"
import { selfPaths } from "./self.ts"

/** The exact `tools.grants` key that gives the gates environment variables or network. */
export const GATES_GRANT = "evolution.gates"
/** Passed from our environment when set; nothing else is. */
export const GATE_ENV = ["PATH", "LANG", "TERM", "TZ"]
export const OFF_WARNING = 'warning: sandbox is "off" in the config: this gate ran unconfined (no OS sandbox)'

export interface Confined {
  sandbox: Sandbox
  /**
   * Run argv in the gates' sandbox (extra env on top of the bare one). The config files are hidden
   * (they may hold tokens) unless `config` is set: only the config gate reads it.
   */
  run(
    argv: string[],
    options: { env?: Record<string, string>; timeoutMs: number; config?: boolean },
  ): Promise<RunResult>
  /** Why gates may not run code here (no sandbox and not "off"), or null. */
  unconfined(): Promise<string | null>
  /** The warning to put on a gate's output, or "" when confined. */
  warning(): Promise<string>
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

const inside = (root: string, path: string) => {
  const rel = relative(root, path)
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))
}

/**
 * A mount over a symlink fails in bubblewrap (its target is resolved outside the new root). Everything
 * is read-only here already, so a read-only link can go; a hidden link is hidden at its target when
 * that is visible, and dropped when it is not (then it dangles inside).
 */
function mountable(spec: SandboxSpec): SandboxSpec {
  const visible = [...spec.read, ...spec.write]
  const hidden: string[] = []
  for (const path of spec.hidden) {
    if (!isLink(path)) hidden.push(path)
    else {
      const target = (() => {
        try {
          return realpathSync(path)
        } catch {
          return null
        }
      })()
      if (target && visible.some((root) => inside(root, target))) hidden.push(target)
    }
  }
  return { ...spec, readOnly: spec.readOnly.filter((path) => !isLink(path)), hidden }
}

/** The bare environment plus what the owner granted the gates by name. */
function gateEnv(config: Config): Record<string, string> {
  const grant = config.tools?.grants?.[GATES_GRANT]
  const env: Record<string, string> = {}
  for (const name of [...GATE_ENV, ...(grant?.env ?? [])]) {
    const value = Flag.get(name)
    if (value !== undefined) env[name] = value
  }
  return env
}

export function confineGates(config: Config, sandbox: Sandbox = createSandbox(config.sandbox ?? "auto")): Confined {
  const workspace = config.workspaceDir
  const boundary = boundaryOf({ ...config, file: config.file })
  const extra = selfPaths()
  // A node_modules linked from elsewhere (a checkout, a monorepo) must be visible for imports to resolve.
  for (const name of ["node_modules"]) {
    const path = `${workspace}/${name}`
    if (isLink(path))
      try {
        extra.push(realpathSync(path))
      } catch {}
  }
  const configs = [...CONFIG_NAMES.map((name) => resolve(workspace, name)), ...(config.file ? [config.file] : [])]
  const spec = (env: Record<string, string>, showConfig: boolean): SandboxSpec => {
    const view = viewSpec(
      { boundary, read: [...extra.filter((path) => !inside(workspace, path)), workspace], write: [] },
      workspace,
      { ...gateEnv(config), ...env },
      config.tools?.grants?.[GATES_GRANT]?.network ?? false,
    )
    return mountable(showConfig ? view : { ...view, hidden: [...view.hidden, ...configs] })
  }
  return {
    sandbox,
    run: (argv, options) =>
      sandbox.run(spec(options.env ?? {}, options.config ?? false), argv, { timeoutMs: options.timeoutMs }),
    async unconfined() {
      const status = await sandbox.check()
      if (status.kind !== null) return null
      return `no OS sandbox is available (${status.reason}), and evolution's gates do not run code unconfined. Install bubblewrap (Linux) or run on macOS; or set sandbox: "off" in the config to run gates without one (not recommended)`
    },
    async warning() {
      return (await sandbox.check()).kind === "off" ? OFF_WARNING : ""
    },
  }
}
