/**
 * The Deno runner: a workspace tool that asks for it (or every tool, with `tools.sandbox: "deno"`)
 * runs each call in `deno run` with exactly the `--allow-…` flags its `permissions` declare, and the
 * `drost` import mapped to a generated copy of the SDK. Deno runs inside the same OS sandbox as the
 * tool hosts (hosts.ts: the workspace view, no secrets, no network unless granted), so its
 * permissions are an inner layer that can only narrow that: `permissions.net` without a network grant
 * still reaches nothing. A denied operation comes back as a clear tool error; a timeout or abort
 * kills the process tree.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { killTree, type Sandbox } from "../sandbox/sandbox.ts"
import type { ToolPermissions } from "../sdk/mod.ts"
import { Flag } from "../util/flag.ts"
import type { ToolGrant } from "./grants.ts"
import type { ToolHosts } from "./hosts.ts"
import type { CallContext, ToolMeta } from "./protocol.ts"
import { sdkJavaScript } from "./sdk-source.ts"

export interface DenoOptions {
  workspace: string
  deno: string
  hosts: ToolHosts
  sandbox: Sandbox
}

const MARK = "\u0000drost-result\u0000"

/** The deno executable: configured, on PATH, or in the workspace's node_modules/.bin. */
export function findDeno(workspace: string, configured?: string): string | null {
  if (configured) return existsSync(resolve(workspace, configured)) ? resolve(workspace, configured) : null
  for (const dir of [...(Flag.get("PATH") ?? "").split(delimiter), join(workspace, "node_modules", ".bin")]) {
    const candidate = join(dir, "deno")
    if (dir && existsSync(candidate)) return candidate
  }
  return null
}

function flag(
  name: string,
  value: boolean | string[] | undefined,
  map: (item: string) => string = (item) => item,
): string[] {
  if (value === true) return [`--allow-${name}`]
  if (!value || value.length === 0) return []
  return [`--allow-${name}=${value.map(map).join(",")}`]
}

export function denoFlags(permissions: ToolPermissions = {}, workspace: string): string[] {
  const path = (item: string) => resolve(workspace, item)
  return [
    ...flag("read", permissions.read, path),
    ...flag("write", permissions.write, path),
    ...flag("net", permissions.net),
    ...flag("run", permissions.run),
    ...flag("env", permissions.env),
  ]
}

function runnerSource(toolFile: string, name: string): string {
  // A plugin's entry (src/plugins) exports the plugin: its tool of that name is the one to run.
  return `import exported from ${JSON.stringify(pathToFileURL(toolFile).href)};
const tool = typeof exported?.execute !== "function" && Array.isArray(exported?.tools) ? exported.tools.find((item) => item?.name === ${JSON.stringify(name)}) : exported;
const input = JSON.parse(await new Response(Deno.stdin.readable).text());
const controller = new AbortController();
const log = (level) => (message, fields) => console.error(JSON.stringify({ level, message: String(message), fields }));
const write = (data) => Deno.stdout.writeSync(new TextEncoder().encode(${JSON.stringify(MARK)} + JSON.stringify(data) + "\\n"));
try {
  const value = await tool.execute(input.args, { ...input.context, signal: controller.signal, log: { info: log("info"), warn: log("warn"), error: log("error") } });
  write({ ok: true, value: value === undefined ? null : value });
} catch (error) {
  const denied = error?.name === "NotCapable" || error?.name === "PermissionDenied";
  write({ ok: false, denied, error: error instanceof Error ? error.message : String(error) });
}
`
}

export function createDenoRunner(options: DenoOptions) {
  const deno = realpathSync(options.deno)
  // The runner, the SDK copy and the import map: outside the state folder, which sandboxes hide.
  let dir: string | null = null
  const prepare = (): string => {
    if (dir) return dir
    dir = mkdtempSync(join(tmpdir(), "drost-deno-"))
    const sdk = join(dir, "drost-sdk.js")
    writeFileSync(sdk, sdkJavaScript())
    const url = pathToFileURL(sdk).href
    writeFileSync(
      join(dir, "import-map.json"),
      JSON.stringify({ imports: { drost: url, "@drost/core": url } }, null, 2),
    )
    return dir
  }

  return {
    deno,
    /** Run one call of `meta` under Deno; resolves with the tool's value or throws a readable error. */
    async run(
      meta: ToolMeta,
      grant: ToolGrant,
      args: unknown,
      context: CallContext,
      signal: AbortSignal,
    ): Promise<unknown> {
      const folder = prepare()
      const runner = join(folder, `run-${Bun.hash(`${meta.file}#${meta.name}`).toString(36)}.mjs`)
      writeFileSync(runner, runnerSource(meta.file, meta.name))
      // Deno's cache lives under HOME, which the sandbox keeps private to this one call.
      const spec = options.hosts.spec(grant, [folder, deno], { DENO_NO_UPDATE_CHECK: "1" }, options.hosts.cwd)
      const argv = [
        deno,
        "run",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--no-remote",
        `--import-map=${join(folder, "import-map.json")}`,
        ...denoFlags(meta.permissions, options.workspace),
        runner,
      ]
      const wrapped = await options.sandbox.command(spec, argv)
      const end = options.hosts.guard()
      const proc = Bun.spawn(wrapped.argv, {
        cwd: spec.cwd,
        env: wrapped.env,
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
      })
      const onAbort = () => killTree(proc.pid)
      if (signal.aborted) onAbort()
      signal.addEventListener("abort", onAbort, { once: true })
      proc.stdin.write(JSON.stringify({ args, context }))
      void Promise.resolve(proc.stdin.end()).catch(() => {})
      const [stdout, stderr] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]).finally(() => {
        signal.removeEventListener("abort", onAbort)
        killTree(proc.pid)
        wrapped.cleanup()
        end()
      })
      if (signal.aborted) throw new Error(`the Deno sandbox was stopped: ${String(signal.reason)}`)
      const line = stdout.split("\n").findLast((text) => text.startsWith(MARK))
      if (!line) {
        const problem =
          stderr
            .split("\n")
            .filter((text) => text && !text.startsWith("{"))
            .slice(0, 5)
            .join("\n") || `deno exited with ${proc.exitCode}`
        throw new Error(`${meta.name} failed in the Deno sandbox: ${problem}`)
      }
      const result = JSON.parse(line.slice(MARK.length)) as
        | { ok: true; value: unknown }
        | { ok: false; denied: boolean; error: string }
      if (result.ok) return result.value
      if (result.denied)
        throw new Error(
          `permission denied in the Deno sandbox: ${result.error.split(", run again")[0]}. The tool declares ${JSON.stringify(meta.permissions ?? {})}; widen its \`permissions\` if this access is intended.`,
        )
      throw new Error(result.error)
    },
    /** Remove the runner folder (gateway stop). */
    close() {
      if (dir) rmSync(dir, { recursive: true, force: true })
      dir = null
    },
  }
}

export type DenoRunner = ReturnType<typeof createDenoRunner>
