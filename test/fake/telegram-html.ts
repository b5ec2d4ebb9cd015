/**
 * Telegram's HTML parse mode, as strictly as the Bot API applies it: only its tags and attributes, only
 * its named entities (&lt; &gt; &amp; &quot;) and numeric ones, every tag closed in order, no entity
 * inside `code`/`pre` (except `pre > code` with a language class), no nested `a` or `blockquote`.
 * Returns the displayed text, or the Bot API's error description.
 */

const TAGS: Record<string, string> = {
  b: "b",
  strong: "b",
  i: "i",
  em: "i",
  u: "u",
  ins: "u",
  s: "s",
  strike: "s",
  del: "s",
  "tg-spoiler": "spoiler",
  span: "spoiler",
  a: "a",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
  "tg-emoji": "emoji",
}

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' }

export type Parsed = { ok: true; text: string } | { ok: false; description: string }

const fail = (what: string, offset: number): Parsed => ({
  ok: false,
  description: `Bad Request: can't parse entities: ${what} at byte offset ${offset}`,
})

function decodeEntity(html: string, at: number): { char: string; length: number } | null {
  const match = html.slice(at).match(/^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);/)
  if (!match) return null
  const body = match[1]!
  if (body.startsWith("#x"))
    return { char: String.fromCodePoint(Number.parseInt(body.slice(2), 16)), length: match[0].length }
  if (body.startsWith("#"))
    return { char: String.fromCodePoint(Number.parseInt(body.slice(1), 10)), length: match[0].length }
  const named = NAMED[body]
  return named ? { char: named, length: match[0].length } : null
}

function attributes(raw: string): Record<string, string> | null {
  const out: Record<string, string> = {}
  let rest = raw.trim()
  while (rest) {
    const match = rest.match(/^([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?\s*/)
    if (!match) return null
    out[match[1]!.toLowerCase()] = match[2] ?? match[3] ?? match[4] ?? ""
    rest = rest.slice(match[0].length)
  }
  return out
}

export function parseHtml(html: string): Parsed {
  const stack: { name: string; kind: string; attrs: Record<string, string> }[] = []
  let text = ""
  let i = 0
  const byteOffset = (index: number) => new TextEncoder().encode(html.slice(0, index)).length
  while (i < html.length) {
    const ch = html[i]!
    if (ch === "&") {
      const entity = decodeEntity(html, i)
      if (!entity) return fail(`Character '&' is reserved and must be escaped`, byteOffset(i))
      text += entity.char
      i += entity.length
      continue
    }
    if (ch === ">") return fail(`Character '>' is reserved and must be escaped`, byteOffset(i))
    if (ch !== "<") {
      text += ch
      i++
      continue
    }
    const end = html.indexOf(">", i)
    if (end < 0) return fail("Unclosed start tag", byteOffset(i))
    const inner = html.slice(i + 1, end)
    if (inner.startsWith("/")) {
      const name = inner.slice(1).trim().toLowerCase()
      const open = stack.pop()
      if (!open || open.name !== name)
        return fail(`Unmatched end tag "${name}"${open ? `, expected "</${open.name}>"` : ""}`, byteOffset(i))
      i = end + 1
      continue
    }
    const match = inner.match(/^([a-zA-Z][a-zA-Z0-9-]*)(\s[\s\S]*)?$/)
    if (!match) return fail(`Character '<' is reserved and must be escaped`, byteOffset(i))
    const name = match[1]!.toLowerCase()
    const kind = TAGS[name]
    if (!kind) return fail(`Unsupported start tag "${name}"`, byteOffset(i))
    const attrs = attributes(match[2] ?? "")
    if (!attrs) return fail(`Can't parse attributes of tag "${name}"`, byteOffset(i))
    const parent = stack.at(-1)
    if (parent && (parent.kind === "code" || (parent.kind === "pre" && !(kind === "code"))))
      return fail(`Can't nest "${name}" inside "${parent.name}"`, byteOffset(i))
    if (kind === "a" && stack.some((open) => open.kind === "a"))
      return fail(`Nested links are not allowed`, byteOffset(i))
    if (kind === "blockquote" && stack.some((open) => open.kind === "blockquote"))
      return fail(`Nested blockquotes are not allowed`, byteOffset(i))
    if (kind === "a" && !/^(https?:\/\/|tg:\/\/|mailto:)\S+$/i.test(attrs.href ?? ""))
      return fail(`Wrong URL "${attrs.href ?? ""}"`, byteOffset(i))
    if (name === "span" && attrs.class !== "tg-spoiler") return fail(`Unsupported start tag "span"`, byteOffset(i))
    if (kind === "code" && attrs.class !== undefined && !(parent?.kind === "pre" && /^language-\S+$/.test(attrs.class)))
      return fail(`Unsupported attribute "class" of tag "code"`, byteOffset(i))
    stack.push({ name, kind, attrs })
    i = end + 1
  }
  if (stack.length)
    return fail(`Can't find end tag corresponding to start tag "${stack.at(-1)!.name}"`, byteOffset(html.length))
  return { ok: true, text }
}
