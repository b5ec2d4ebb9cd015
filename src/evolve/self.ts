/**
 * How to run "ourselves" and "bun" from the current process, from source and from the compiled binary
 * alike (STYLE H14, BUN-TRAPS §2). Compiled, `process.execPath` is the drost binary: it is drost, and
 * with `BUN_BE_BUN=1` it is Bun itself, so gates need no separate Bun install.
 */
import { existsSync, realpathSync } from "node:fs"
import { dirname, join } from "node:path"

/** True inside a `bun build --compile` binary (its modules live under the virtual /$bunfs root). */
export function compiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/")
}

/** argv prefix that runs the drost CLI: `[binary]` compiled, `[bun, src/index.ts]` from source. */
export function self(): string[] {
  return compiled() ? [executable()] : [process.execPath, Bun.main]
}

/**
 * The executable's path. On Linux a process whose file was replaced (drost update renames the new
 * binary over it) reads its path as "<path> (deleted)" unless it read it before: the path itself is
 * what holds the new binary, so a restart runs that.
 */
export function executable(): string {
  return process.execPath.replace(/ \(deleted\)$/, "")
}

const real = (path: string) => {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/**
 * What a sandbox must show read-only so that `self()` runs inside it: the executable, and from source
 * the checkout's src/, node_modules/ (its packages), prompts/ (assets src imports) and package.json.
 * Nothing else of the checkout (a state folder of its own, say) is shown.
 */
export function selfPaths(): string[] {
  const paths = [real(process.execPath)]
  if (!compiled()) {
    const root = dirname(dirname(Bun.main))
    for (const name of ["src", "node_modules", "prompts", "package.json", "tsconfig.json", "bunfig.toml"]) {
      const path = join(root, name)
      if (existsSync(path)) paths.push(real(path))
    }
  }
  return [...new Set(paths)]
}

/** A configured command as argv + env: a leading "bun" becomes this runtime with BUN_BE_BUN=1. */
export function command(spec: string | string[]): { argv: string[]; env: Record<string, string> } {
  const argv = typeof spec === "string" ? spec.trim().split(/\s+/) : [...spec]
  if (argv[0] === "bun") return { argv: [process.execPath, ...argv.slice(1)], env: { BUN_BE_BUN: "1" } }
  return { argv, env: {} }
}
