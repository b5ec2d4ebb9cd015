/**
 * A small unified diff (LCS on lines after trimming the common prefix and suffix), enough for the git
 * tools to show what changed without a system `git`. Very large inputs fall back to a summary rather
 * than spending seconds on a quadratic table.
 */

const MAX_CELLS = 4_000_000

type Op = { kind: " " | "-" | "+"; line: string; a: number; b: number }

function split(text: string): string[] {
  if (text === "") return []
  const lines = text.split("\n")
  if (lines.at(-1) === "") lines.pop()
  return lines
}

function ops(a: string[], b: string[]): Op[] | null {
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const n = endA - start
  const m = endB - start
  if (n * m > MAX_CELLS) return null
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      table[i]![j] =
        a[start + i] === b[start + j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!)
  const out: Op[] = []
  for (let i = 0; i < start; i++) out.push({ kind: " ", line: a[i]!, a: i, b: i })
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      out.push({ kind: " ", line: a[start + i]!, a: start + i, b: start + j })
      i++
      j++
    } else if (i < n && (j === m || table[i + 1]![j]! >= table[i]![j + 1]!)) {
      // Deletions before insertions, as git prints them.
      out.push({ kind: "-", line: a[start + i]!, a: start + i, b: start + j })
      i++
    } else {
      out.push({ kind: "+", line: b[start + j]!, a: start + i, b: start + j })
      j++
    }
  }
  for (let k = 0; k < a.length - endA; k++) out.push({ kind: " ", line: a[endA + k]!, a: endA + k, b: endB + k })
  return out
}

/** `--- a/path` / `+++ b/path` and @@ hunks with `context` lines around each change. */
export function unifiedDiff(path: string, before: string | null, after: string | null, context = 3): string {
  const a = split(before ?? "")
  const b = split(after ?? "")
  const header = `--- ${before === null ? "/dev/null" : `a/${path}`}\n+++ ${after === null ? "/dev/null" : `b/${path}`}`
  const list = ops(a, b)
  if (!list) return `${header}\n(too large to diff: ${a.length} → ${b.length} lines)`
  const changed = list.map((op, index) => (op.kind === " " ? -1 : index)).filter((index) => index >= 0)
  if (changed.length === 0) return ""
  const hunks: string[] = []
  let at = 0
  while (at < changed.length) {
    const first = Math.max(0, changed[at]! - context)
    let last = changed[at]!
    while (at + 1 < changed.length && changed[at + 1]! - last <= context * 2 + 1) last = changed[++at]!
    at++
    const end = Math.min(list.length - 1, last + context)
    const slice = list.slice(first, end + 1)
    const aCount = slice.filter((op) => op.kind !== "+").length
    const bCount = slice.filter((op) => op.kind !== "-").length
    const aStart = aCount ? slice.find((op) => op.kind !== "+")!.a + 1 : slice[0]!.a
    const bStart = bCount ? slice.find((op) => op.kind !== "-")!.b + 1 : slice[0]!.b
    hunks.push(
      `@@ -${aStart},${aCount} +${bStart},${bCount} @@\n${slice.map((op) => `${op.kind}${op.line}`).join("\n")}`,
    )
  }
  return `${header}\n${hunks.join("\n")}`
}
