/**
 * code.search's patterns, run by RE2 (the `re2js` port): matching takes time linear in the text, so a
 * pattern such as `^(a+)+$` cannot freeze the gateway the way a backtracking engine does (the audit saw
 * 31.6 s of a frozen gateway, then "no matches"). JavaScript syntax is translated where RE2 has an
 * equivalent (named groups, `\u{…}`); what needs backtracking by nature (backreferences, lookahead,
 * atomic groups, possessive quantifiers) is refused with the feature named. Captureless lookbehind is
 * supported (re2js runs it in linear time).
 *
 * re2js loads on the first search, not at every start: it sat on the start's import graph through the
 * toolset (about 0.9 MB of package) for a tool most turns never call.
 */
type Re2 = typeof import("re2js").RE2JS
let engine: Promise<Re2> | undefined
/** As util/git-module.ts loads isomorphic-git: once, on first use. */
const re2 = (): Promise<Re2> => (engine ??= import("re2js").then((module) => module.RE2JS))

export interface Pattern {
  test(line: string): boolean
}

/** Longest pattern accepted: RE2's cost is linear in the text but grows with the pattern's size. */
export const MAX_PATTERN = 2000

/**
 * The first feature of `pattern` that needs backtracking, or null. Scanned before translation: re2js's
 * translator would otherwise turn `\k<name>` into the letters `k<name>` and search for those.
 */
export function unsupported(pattern: string): string | null {
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    const rest = pattern.slice(i + 1)
    if (c === "\\") {
      if (!inClass && /^[1-9]/.test(rest)) return "backreferences (\\1 … \\9)"
      if (!inClass && rest.startsWith("k<")) return "named backreferences (\\k<name>)"
      i++
    } else if (inClass) {
      if (c === "]") inClass = false
    } else if (c === "[") {
      inClass = true
      if (rest.startsWith("]") || rest.startsWith("^]")) i += rest.startsWith("^") ? 2 : 1
    } else if (c === "(" && rest.startsWith("?=")) return "lookahead ((?=…))"
    else if (c === "(" && rest.startsWith("?!")) return "negative lookahead ((?!…))"
    else if (c === "(" && rest.startsWith("?>")) return "atomic groups ((?>…))"
    else if ("*+?}".includes(c) && rest.startsWith("+")) return "possessive quantifiers (*+, ++, ?+)"
  }
  return null
}

/** Compile `pattern` (a literal string when `literal`), or throw an error that says what to change. */
export async function compile(pattern: string, options: { literal?: boolean; ignoreCase?: boolean }): Promise<Pattern> {
  if (pattern.length > MAX_PATTERN)
    throw new Error(`the pattern is ${pattern.length} characters; at most ${MAX_PATTERN} are accepted`)
  const RE2JS = await re2()
  const flags = (options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) | RE2JS.LOOKBEHINDS
  if (options.literal) return RE2JS.compile(RE2JS.quote(pattern), flags)
  const feature = unsupported(pattern)
  if (feature)
    throw new Error(
      `code.search runs a linear-time regex engine (RE2 syntax), which does not support ${feature}; rewrite the pattern without it (e.g. search for the plain part and read the matches), or pass literal: true`,
    )
  try {
    return RE2JS.compile(RE2JS.translateRegExp(pattern), flags)
  } catch (error) {
    throw new Error(
      `invalid regular expression: ${(error as Error).message.replace(/^error parsing regexp: /, "")}; fix it or pass literal: true`,
    )
  }
}
