/**
 * The Deno sandbox: a workspace tool that asks for it (or every tool, with `tools.sandbox: "deno"`)
 * runs each call in `deno run` with exactly the `--allow-…` flags its `permissions` declare, an
 * explicit minimal environment, and the `drost` import mapped to a generated copy of the SDK. A
 * denied operation comes back as a clear tool error; a timeout or abort kills the process.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { delimiter, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { ToolPermissions } from "../sdk/mod.ts"
import type { CallContext, ToolMeta } from "./protocol.ts"
import { sdkJavaScript } from "./sdk-source.ts"

export interface SandboxOptions {
  workspace: string
  /** Where the runner, the SDK copy and Deno's cache live (inside the state folder). */
  stateDir: string
  deno: string
  /** Variables copied from our environment when a tool is granted `env: true`. */
  envAllow: string[]
}

const MARK = "\u0000drost-result\u0000"

/** The deno executable: configured, on PATH, or in the workspace's node_modules/.bin. */
export function findDeno(workspace: string, configured?: string): string | null {
  if (configured) return existsSync(resolve(workspace, configured)) ? resolve(workspace, configured) : null
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), join(workspace, "node_modules", ".bin")]) {
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

function runnerSource(toolFile: string): string {
  return `import tool from ${JSON.stringify(pathToFileURL(toolFile).href)};
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

export function createSandbox(options: SandboxOptions) {
  const dir = join(options.stateDir, "sandbox")
  let prepared = false
  const prepare = () => {
    if (prepared) return
    mkdirSync(join(dir, "cache"), { recursive: true })
    const sdk = join(dir, "drost-sdk.js")
    writeFileSync(sdk, sdkJavaScript())
    const url = pathToFileURL(sdk).href
    writeFileSync(
      join(dir, "import-map.json"),
      JSON.stringify({ imports: { drost: url, "@drost/core": url } }, null, 2),
    )
    prepared = true
  }

  return {
    /** Run one call of `meta` under Deno; resolves with the tool's value or throws a readable error. */
    async run(meta: ToolMeta, args: unknown, context: CallContext, signal: AbortSignal): Promise<unknown> {
      prepare()
      const runner = join(dir, `run-${Bun.hash(meta.file).toString(36)}.mjs`)
      writeFileSync(runner, runnerSource(meta.file))
      const env: Record<string, string> = {
        NO_COLOR: "1",
        DENO_DIR: join(dir, "cache"),
        DENO_NO_UPDATE_CHECK: "1",
        PATH: process.env.PATH ?? "/usr/bin:/bin",
      }
      if (process.env.HOME) env.HOME = process.env.HOME
      const granted = meta.permissions?.env
      for (const name of granted === true ? options.envAllow : Array.isArray(granted) ? granted : [])
        if (process.env[name] !== undefined) env[name] = process.env[name]!
      const flags = denoFlags(meta.permissions, options.workspace)
      const proc = Bun.spawn(
        [
          options.deno,
          "run",
          "--no-prompt",
          "--no-config",
          "--no-lock",
          "--no-remote",
          `--import-map=${join(dir, "import-map.json")}`,
          ...flags,
          runner,
        ],
        { cwd: options.workspace, env, stdin: "pipe", stdout: "pipe", stderr: "pipe" },
      )
      const onAbort = () => proc.kill("SIGKILL")
      signal.addEventListener("abort", onAbort, { once: true })
      proc.stdin.write(JSON.stringify({ args, context }))
      await proc.stdin.end()
      const [stdout, stderr] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]).finally(() => signal.removeEventListener("abort", onAbort))
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
  }
}
