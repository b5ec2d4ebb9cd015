/**
 * Argument checks citty does not make: a flag no command defines is refused (citty would pass `-5` or
 * `--limt` on silently), and integer arguments are parsed in one place with one kind of message.
 * Both throw UsageError, which the runner (main.ts) prints as one line with a pointer to `--help`.
 */
import type { ArgsDef, CommandDef, Resolvable } from "citty"
import { DrostError } from "../core/error.ts"

/** `--workspace` and `--config`, which every command that works on a workspace takes. */
export const workspaceArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace folder (default: DROST_WORKSPACE or the current folder)",
  },
  config: {
    type: "string",
    alias: "c",
    description: "Config file (default: the first drost.config.{ts,mts,js,mjs,json} in the workspace)",
  },
} as const

export class UsageError extends DrostError {
  constructor(
    message: string,
    /** The command path, e.g. ["evolution", "log"], for the `--help` hint. */
    readonly command: string[] = [],
  ) {
    super("Usage", message)
  }
}

/**
 * An integer argument: undefined when absent, else a whole number within [min, max], else a
 * UsageError naming the flag and the value (`--limit expects a whole number ≥ 1, got "abc"`).
 */
export function integer(
  value: string | undefined,
  name: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range
  const parsed = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    const bounds =
      range.min !== undefined && range.max !== undefined
        ? ` from ${min} to ${max}`
        : range.min !== undefined
          ? ` ≥ ${min}`
          : range.max !== undefined
            ? ` ≤ ${max}`
            : ""
    throw new UsageError(`${name} expects a whole number${bounds}, got "${value}"`)
  }
  return parsed
}

/** A flag's short names (citty allows one or several). */
export function aliasesOf(def: ArgsDef[string]): string[] {
  const alias = (def as { alias?: string | string[] }).alias
  return Array.isArray(alias) ? alias : alias ? [alias] : []
}

async function resolved<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)

/** The command a command line runs, with its path and every argument defined along the way. */
export async function resolveCommand(
  root: CommandDef,
  argv: string[],
): Promise<{ command: CommandDef; path: string[]; args: ArgsDef; rest: string[] }> {
  let command = root
  const path: string[] = []
  let args: ArgsDef = { ...((await resolved(root.args)) ?? {}) }
  let rest = argv
  for (;;) {
    const subs = await resolved(command.subCommands)
    if (!subs || Object.keys(subs).length === 0) break
    const index = rest.findIndex((arg, i) => !arg.startsWith("-") && !takesValue(rest[i - 1], args))
    const name = index >= 0 ? rest[index]! : undefined
    if (name === undefined || !(name in subs)) break
    command = (await resolved(subs[name])) as CommandDef
    path.push(name)
    args = { ...args, ...((await resolved(command.args)) ?? {}) }
    rest = rest.slice(index + 1)
  }
  return { command, path, args, rest }
}

/** Whether `flag` (the token before a value) is a string option that consumes the next token. */
function takesValue(flag: string | undefined, args: ArgsDef): boolean {
  if (!flag?.startsWith("-") || flag.includes("=") || flag === "--") return false
  const def = lookup(flag, args)
  return def !== null && def.type !== "boolean"
}

function lookup(flag: string, args: ArgsDef): { type?: string } | null {
  const name = flag.replace(/^-{1,2}/, "").split("=")[0]!
  for (const [key, def] of Object.entries(args)) {
    if (def.type === "positional") continue
    const names = [key, camel(key), kebab(key)]
    if (def.type === "boolean") names.push(...names.map((n) => `no-${n}`), `no${key[0]!.toUpperCase()}${key.slice(1)}`)
    const aliases = aliasesOf(def)
    if (flag.startsWith("--") ? names.includes(name) : aliases.includes(name)) return def
  }
  return null
}

/** Refuses an option the command does not define (everything after `--` is left alone). */
export function checkOptions(argv: string[], args: ArgsDef, path: string[]) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") return
    if (!arg.startsWith("-") || arg === "-") continue
    if (["--help", "-h"].includes(arg)) continue
    const def = lookup(arg, args)
    if (!def)
      throw new UsageError(
        /^-\d/.test(arg)
          ? `unexpected ${arg}: negative numbers are not accepted here`
          : `unknown option ${arg.split("=")[0]}`,
        path,
      )
    if (def.type !== "boolean" && !arg.includes("=")) i++
  }
}
