/**
 * Markdown (what models write) → Telegram's HTML subset. Every block is rendered twice at once: as
 * HTML and as the plain text Telegram will display for it. The plain text gives the exact length the
 * 4,096-character limit counts (split.ts) and is the fallback when Telegram rejects the entities.
 *
 * Only tags Telegram knows are produced (b, i, s, code, pre, a, blockquote), always balanced, never a
 * code entity inside another, never a nested blockquote; every `<`, `>`, `&` and `"` in text is escaped.
 */
import { type Token, type Tokens, marked } from "marked"

/** One rendered block: the HTML to send and the text Telegram shows for it. */
export interface Block {
  html: string
  text: string
  /** Set on fenced/indented code: an oversized block is split by lines into several code blocks. */
  code?: { lang: string; source: string }
}

interface Pair {
  html: string
  text: string
}

const EMPTY: Pair = { html: "", text: "" }

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
}

const plain = (text: string): Pair => ({ html: escapeHtml(text), text })

/**
 * A slash command's answer (gateway/commands.ts) as Telegram shows it: a listing keeps its columns in
 * <pre>, a note is plain text. The text is the one every other surface prints.
 */
export function commandReply(reply: { text: string; listing?: boolean }): Pair {
  return { text: reply.text, html: reply.listing ? `<pre>${escapeHtml(reply.text)}</pre>` : escapeHtml(reply.text) }
}
const join = (pairs: Pair[], separator = ""): Pair => ({
  html: pairs.map((pair) => pair.html).join(separator),
  text: pairs.map((pair) => pair.text).join(separator),
})
const wrap = (tag: string, inner: Pair, attributes = ""): Pair =>
  inner.text ? { html: `<${tag}${attributes}>${inner.html}</${tag}>`, text: inner.text } : inner

const SAFE_URL = /^(https?:\/\/|tg:\/\/|mailto:)\S+$/i

/** marked hands over inline text with HTML entities already applied; undo that before escaping once. */
const ENTITY = /&(amp|lt|gt|quot|#39|#(\d{1,7})|#x([0-9a-f]{1,6}));/gi
function decodeEntities(text: string): string {
  return text.replace(ENTITY, (match, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec))
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16))
    return (
      ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" } as Record<string, string>)[name.toLowerCase()] ?? match
    )
  })
}
const LANG = /^[A-Za-z0-9_+#.-]{1,32}$/

export function codeBlock(source: string, lang: string): Block {
  const attributes = LANG.test(lang) ? ` class="language-${lang}"` : ""
  return { html: `<pre><code${attributes}>${escapeHtml(source)}</code></pre>`, text: source, code: { lang, source } }
}

/** Inline tokens. `bare` is set inside links and code-free contexts: no nested code or links there. */
function inline(tokens: Token[] | undefined, bare = false): Pair {
  return join((tokens ?? []).map((token) => inlineToken(token, bare)))
}

function inlineToken(token: Token, bare: boolean): Pair {
  switch (token.type) {
    case "strong":
      return wrap("b", inline((token as Tokens.Strong).tokens, bare))
    case "em":
      return wrap("i", inline((token as Tokens.Em).tokens, bare))
    case "del":
      return wrap("s", inline((token as Tokens.Del).tokens, bare))
    case "codespan": {
      const text = (token as Tokens.Codespan).text
      return bare ? plain(text) : wrap("code", plain(text))
    }
    case "br":
      return plain("\n")
    case "link": {
      const link = token as Tokens.Link
      const label = inline(link.tokens, true)
      if (bare || !SAFE_URL.test(link.href))
        return label.text === link.href ? label : join([label, plain(` (${link.href})`)])
      return wrap("a", label.text ? label : plain(link.href), ` href="${escapeHtml(link.href)}"`)
    }
    case "image": {
      const image = token as Tokens.Image
      const label = plain(`🖼 ${image.text || "image"}`)
      return !bare && SAFE_URL.test(image.href) ? wrap("a", label, ` href="${escapeHtml(image.href)}"`) : label
    }
    case "checkbox":
      return plain((token as Tokens.Checkbox).checked ? "☑ " : "☐ ")
    case "escape":
      return plain(decodeEntities(token.text ?? token.raw))
    case "html":
      return plain(token.text ?? token.raw)
    default: {
      const nested = (token as { tokens?: Token[] }).tokens
      return nested?.length
        ? inline(nested, bare)
        : plain(decodeEntities((token as { text?: string }).text ?? token.raw))
    }
  }
}

function list(token: Tokens.List, depth: number, quoted: boolean): Pair {
  const indent = "  ".repeat(depth)
  const start = typeof token.start === "number" ? token.start : 1
  const lines = token.items.map((item, index) => {
    const marker = token.ordered ? `${start + index}.` : depth % 2 === 0 ? "•" : "◦"
    const parts: Pair[] = []
    for (const child of item.tokens) {
      if (child.type === "checkbox") {
        parts.push(plain((child as Tokens.Checkbox).checked ? "☑" : "☐"))
        continue
      }
      const part =
        child.type === "list" ? list(child as Tokens.List, depth + 1, quoted) : block(child, depth + 1, quoted)
      const after = parts.length === 0 ? "" : parts.at(-1)!.text.match(/^[☐☑]$/) ? " " : "\n"
      if (part.text) parts.push(join([plain(child.type === "list" ? "\n" : after), part]))
    }
    return join([plain(`${indent}${marker} `), ...parts])
  })
  return join(lines, "\n")
}

function table(token: Tokens.Table): Pair {
  const cell = (c: Tokens.TableCell) => inline(c.tokens, true).text.replace(/\s+/g, " ").trim()
  const rows = [token.header.map(cell), ...token.rows.map((row) => row.map(cell))]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)))
  const line = (row: string[]) =>
    row
      .map((value, column) => value.padEnd(widths[column]!))
      .join(" │ ")
      .trimEnd()
  const rule = widths.map((width) => "─".repeat(width)).join("─┼─")
  const text = [line(rows[0]!), rule, ...rows.slice(1).map(line)].join("\n")
  return { html: `<pre>${escapeHtml(text)}</pre>`, text }
}

function block(token: Token, depth: number, quoted: boolean): Pair {
  switch (token.type) {
    case "space":
    case "def":
      return EMPTY
    case "heading":
      return wrap("b", inline((token as Tokens.Heading).tokens))
    case "paragraph":
      return inline((token as Tokens.Paragraph).tokens)
    case "text": {
      const text = token as Tokens.Text
      return text.tokens ? inline(text.tokens) : plain(text.text)
    }
    case "code": {
      const code = codeBlock((token as Tokens.Code).text, (token as Tokens.Code).lang ?? "")
      return { html: code.html, text: code.text }
    }
    case "blockquote": {
      const inner = join(
        (token as Tokens.Blockquote).tokens.map((child) => block(child, depth, true)).filter((pair) => pair.text),
        "\n",
      )
      // Telegram rejects a blockquote inside a blockquote: the inner one is flattened.
      return quoted ? inner : wrap("blockquote", inner)
    }
    case "list":
      return list(token as Tokens.List, depth, quoted)
    case "table":
      return table(token as Tokens.Table)
    case "hr":
      return plain("———")
    case "html":
      return plain((token as Tokens.HTML).text.trimEnd())
    default: {
      const nested = (token as { tokens?: Token[] }).tokens
      return nested?.length ? inline(nested) : plain(token.raw.trimEnd())
    }
  }
}

/** The top-level blocks of a Markdown answer, each rendered; empty blocks dropped. */
export function blocks(markdown: string): Block[] {
  const tokens = marked.lexer(markdown, { gfm: true })
  return tokens.flatMap((token): Block[] => {
    if (token.type === "code") return [codeBlock((token as Tokens.Code).text, (token as Tokens.Code).lang ?? "")]
    const pair = block(token, 0, false)
    return pair.text.trim() ? [pair] : []
  })
}

/** The whole answer as one HTML string (callers that need the 4,096 limit use split.ts). */
export function render(markdown: string): Pair {
  return join(blocks(markdown), "\n\n")
}

export * as Render from "./render.ts"
