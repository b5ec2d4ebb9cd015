/**
 * Turns whatever a model or a person types into a safe FTS5 query. FTS5 has its own syntax (quotes,
 * `-`, `:`, `*`, AND/OR/NOT/NEAR, parentheses) and rejects malformed input with an error; we never pass
 * raw text through. Every word becomes a quoted string, so `foo-bar`, `"unbalanced`, `OR` and `col:x`
 * are all just words.
 */

/** The words of `text` as FTS5 sees them with the unicode61 tokenizer (letters, digits). */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 32)
}

/** All words must match (`"a" "b"`), or any word (`"a" OR "b"`); null when nothing searchable is left. */
export function ftsQuery(text: string, join: "all" | "any"): string | null {
  const list = [...new Set(words(text))]
  if (list.length === 0) return null
  // Quoted strings are phrases: a quote inside is doubled, though words() never yields one.
  const quoted = list.map((word) => `"${word.replaceAll('"', '""')}"`)
  return quoted.join(join === "all" ? " " : " OR ")
}
