/**
 * code.search's patterns, run by RE2 (the `re2js` port): matching takes time linear in the text, so a
 * pattern such as `^(a+)+$` cannot freeze the gateway the way a backtracking engine does (the audit saw
 * 31.6 s of a frozen gateway, then "no matches"). JavaScript syntax is translated where RE2 has an
 * equivalent (named groups, `\u{…}`); what needs backtracking by nature (backreferences, lookahead,
 * atomic groups, possessive quantifiers) is refused with the feature named. Captureless lookbehind is
 * supported (re2js runs it in linear time).
 */
import { RE2JS } from "re2js"

export interface Pattern {
  test(line: string): boolean
}

/** Longest pattern accepted: RE2's cost is linear in the text but grows with the pattern's size. */
export const MAX_PATTERN = 2000

const UNSUPPORTED: [RegExp, string][] = [
  [/\\[1-9]/, "backreferences (\\1 … \\9)"],
  [/\\k</, "named backreferences (\\k<name>)"],
  [/\(\?=/, "lookahead ((?=…))"],
  [/\(\?!/, "negative lookahead ((?!…))"],
  [/\(\?>/, "atomic groups ((?>…))"],
  [/[*+?}]\+/, "possessive quantifiers (*+, ++, ?+)"],
  [/\(\?<[=!][^)]*\((?!\?:)/, "capturing groups inside a lookbehind"],
]

/** Compile `pattern` (a literal string when `literal`), or throw an error that says what to change. */
export function compile(pattern: string, options: { literal?: boolean; ignoreCase?: boolean }): Pattern {
  if (pattern.length > MAX_PATTERN)
    throw new Error(`the pattern is ${pattern.length} characters; at most ${MAX_PATTERN} are accepted`)
  const flags = (options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) | RE2JS.LOOKBEHINDS
  if (options.literal) return RE2JS.compile(RE2JS.quote(pattern), flags)
  try {
    return RE2JS.compile(RE2JS.translateRegExp(pattern), flags)
  } catch (error) {
    const feature = UNSUPPORTED.find(([shape]) => shape.test(pattern))?.[1]
    if (feature)
      throw new Error(
        `code.search runs a linear-time regex engine (RE2 syntax), which does not support ${feature}; rewrite the pattern without it (e.g. search for the plain part and read the matches), or pass literal: true`,
      )
    throw new Error(
      `invalid regular expression: ${(error as Error).message.replace(/^error parsing regexp: /, "")}; fix it or pass literal: true`,
    )
  }
}
