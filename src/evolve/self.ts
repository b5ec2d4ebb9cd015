/**
 * How to run "ourselves" and "bun" from the current process, from source and from the compiled binary
 * alike (STYLE H14, BUN-TRAPS §2). Compiled, `process.execPath` is the drost binary: it is drost, and
 * with `BUN_BE_BUN=1` it is Bun itself, so gates need no separate Bun install.
 */

/** True inside a `bun build --compile` binary (its modules live under the virtual /$bunfs root). */
export function compiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/")
}

/** argv prefix that runs the drost CLI: `[binary]` compiled, `[bun, src/index.ts]` from source. */
export function self(): string[] {
  return compiled() ? [process.execPath] : [process.execPath, Bun.main]
}

/** A configured command as argv + env: a leading "bun" becomes this runtime with BUN_BE_BUN=1. */
export function command(spec: string | string[]): { argv: string[]; env: Record<string, string> } {
  const argv = typeof spec === "string" ? spec.trim().split(/\s+/) : [...spec]
  if (argv[0] === "bun") return { argv: [process.execPath, ...argv.slice(1)], env: { BUN_BE_BUN: "1" } }
  return { argv, env: {} }
}
