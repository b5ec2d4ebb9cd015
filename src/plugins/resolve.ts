/**
 * Where a plugin's code is: `<workspace>/node_modules/<package>`, its entry from package.json
 * (`exports["."]` with the `bun`, `import` or `default` condition, then `module`, then `main`, then an
 * `index.ts` / `index.js` / `index.mjs`). Only the workspace's own node_modules counts, never one
 * further up the tree, and an entry that leaves the package folder is refused: what is loaded is
 * exactly what the owner installed for this workspace.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs"
import { isAbsolute, join, relative, resolve } from "node:path"

export class PluginNotFound extends Error {}

type Exports = string | { [condition: string]: Exports } | null | undefined

function pick(value: Exports): string | null {
  if (typeof value === "string") return value
  if (!value || typeof value !== "object") return null
  const dot = (value as Record<string, Exports>)["."]
  if (dot !== undefined) return pick(dot)
  for (const condition of ["bun", "import", "default"]) {
    const found = pick((value as Record<string, Exports>)[condition])
    if (found) return found
  }
  return null
}

/** The package folder and its entry file (absolute), or PluginNotFound with what to do. */
export function resolvePlugin(workspace: string, name: string): { dir: string; entry: string; version: string } {
  const dir = join(workspace, "node_modules", name)
  const manifest = join(dir, "package.json")
  if (!existsSync(manifest))
    throw new PluginNotFound(
      `not installed: ${relative(workspace, dir)}/package.json does not exist (run \`npm install ${name}\` in the workspace)`,
    )
  let pkg: { version?: unknown; exports?: Exports; module?: unknown; main?: unknown }
  try {
    pkg = JSON.parse(readFileSync(manifest, "utf8"))
  } catch (error) {
    throw new PluginNotFound(`its package.json is not valid JSON: ${(error as Error).message}`)
  }
  const named =
    pick(pkg.exports) ??
    (typeof pkg.module === "string" ? pkg.module : null) ??
    (typeof pkg.main === "string" ? pkg.main : null)
  const candidates = named ? [named] : ["index.ts", "index.js", "index.mjs"]
  const real = realpathSync(dir)
  for (const candidate of candidates) {
    const entry = resolve(dir, candidate)
    if (!existsSync(entry)) continue
    const inside = relative(real, realpathSync(entry))
    if (inside.startsWith("..") || isAbsolute(inside))
      throw new PluginNotFound(`its entry ${candidate} lies outside the package folder`)
    return { dir, entry, version: typeof pkg.version === "string" ? pkg.version : "" }
  }
  throw new PluginNotFound(
    named
      ? `its entry ${named} (package.json) does not exist`
      : "it has no entry: package.json names none (exports, module or main) and there is no index.ts or index.js",
  )
}
