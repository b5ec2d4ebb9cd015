/**
 * The shell's command guard, applied before anything runs: the configured allow/deny prefixes per
 * command segment, and a path check on the command line itself. Every absolute path, `~`, `..`
 * component and existing name the command mentions must resolve (symlinks included) inside the roots;
 * variable expansion and command substitution are refused because they can build a path the check
 * never saw. This confines what the command line names, early and with a clear message; the boundary
 * is the OS sandbox the command then runs in (shell.ts), which also stops what the guard cannot see.
 */
import { resolve } from "node:path"
import { RootError, resolveIn } from "../../workspace/roots.ts"
import { present } from "../../util/present.ts"

export interface ShellRules {
  allow: string[]
  deny: string[]
}

/** Split on `;`, `&&`, `||`, `|`, `&` and newlines, outside quotes. */
export function segments(command: string): string[] {
  const out: string[] = []
  let current = ""
  let quote: string | null = null
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!
    if (quote) {
      if (c === quote) quote = null
      current += c
    } else if (c === "'" || c === '"') {
      quote = c
      current += c
    } else if (c === ";" || c === "\n" || c === "|" || c === "&") {
      out.push(current)
      current = ""
    } else current += c
  }
  out.push(current)
  return out.map((segment) => segment.trim()).filter(Boolean)
}

/** Words of a command line with quotes removed (enough for a path check, not a full parser). */
export function words(command: string): string[] {
  return (command.match(/"[^"]*"|'[^']*'|[^\s;|&<>()]+/g) ?? []).map((word) => word.replace(/^["']|["']$/g, ""))
}

function startsWithPrefix(segment: string, prefix: string): boolean {
  const p = prefix.trim()
  return (
    segment === p ||
    segment.startsWith(`${p} `) ||
    (prefix.endsWith(" ") ? false : segment.startsWith(p) && /\W$/.test(p))
  )
}

/** Throws a RootError (or a plain Error for a policy refusal) naming the problem; returns nothing. */
export function guard(command: string, cwd: string, roots: string[] | null, rules: ShellRules) {
  for (const segment of segments(command)) {
    const denied = rules.deny.find((prefix) => startsWithPrefix(segment, prefix))
    if (denied) throw new Error(`the command "${segment}" is refused by the shell deny list ("${denied}")`)
    if (rules.allow.length && !rules.allow.some((prefix) => startsWithPrefix(segment, prefix)))
      throw new Error(
        `the command "${segment}" is not on the shell allow list (${rules.allow.map((p) => `"${p}"`).join(", ")})`,
      )
  }
  if (!roots) return
  if (/\$[A-Za-z_{(]|`/.test(command.replace(/'[^']*'/g, "")))
    throw new RootError(
      "variable expansion ($VAR) and command substitution ($(…), backticks) are refused; write the values out",
    )
  for (const word of words(command)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(word)) continue // a URL, not a path
    for (const candidate of [word, ...word.split(/[=,:]/).slice(1)]) check(candidate, cwd, roots)
  }
}

const HARMLESS = new Set([
  "/dev/null",
  "/dev/zero",
  "/dev/random",
  "/dev/urandom",
  "/dev/stdin",
  "/dev/stdout",
  "/dev/stderr",
])

function check(candidate: string, cwd: string, roots: string[]) {
  if (HARMLESS.has(candidate)) return
  if (candidate.startsWith("~"))
    throw new RootError(`"${candidate}": home-relative paths are refused; use paths inside the workspace`)
  const cleanPath = /^[^'"()[\]{}\s]*$/.test(candidate)
  // `..` inside an expression (`os.chdir('..')`) cannot be resolved here, so it is refused outright.
  if (!cleanPath && /(^|[^\w.])\.\.([^\w.]|$)/.test(candidate))
    throw new RootError(`"${candidate}": ".." inside an expression is refused; use paths inside the workspace`)
  const embedded = /(?:^|[^A-Za-z0-9_.~:-])(\/[^\s'"()]*)/.exec(candidate)?.[1]
  if (embedded && !candidate.startsWith("/") && !HARMLESS.has(embedded)) resolveIn(roots, embedded, "the shell")
  const pathish =
    candidate.startsWith("/") || /(^|\/)\.\.(\/|$)/.test(candidate) || (cleanPath && candidate.includes("/"))
  if (!pathish && !present(resolve(cwd, candidate))) return
  if (!cleanPath && !candidate.startsWith("/")) return
  resolveIn(roots, resolve(cwd, candidate), "the shell")
}
