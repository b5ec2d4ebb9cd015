/**
 * Markdown (what models write) → Slack's mrkdwn: `*bold*`, `_italic_`, `~strike~`, `` `code` ``,
 * fenced code blocks (no language), `<url|label>` links, `>` quotes, bullets as "•". Headings become bold
 * lines, tables stay as code blocks (mrkdwn has none). `&`, `<` and `>` in text are escaped as Slack
 * requires, so nothing the model writes becomes a mention (`<!channel>`) or a link by accident.
 */
import { type Token, type Tokens, marked } from "marked"

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
}

/** Wrap in a mrkdwn marker only when there is something to mark (Slack shows `**` literally). */
const mark = (marker: string, inner: string) => (inner.trim() ? `${marker}${inner}${marker}` : inner)

function inline(tokens: Token[] | undefined): string {
  return (tokens ?? []).map(inlineOne).join("")
}

function inlineOne(token: Token): string {
  switch (token.type) {
    case "strong":
      return mark("*", inline((token as Tokens.Strong).tokens))
    case "em":
      return mark("_", inline((token as Tokens.Em).tokens))
    case "del":
      return mark("~", inline((token as Tokens.Del).tokens))
    case "codespan":
      return `\`${escapeMrkdwn(decode((token as Tokens.Codespan).text).replace(/`/g, "'"))}\``
    case "link": {
      const link = token as Tokens.Link
      const label = inline(link.tokens)
      if (!/^(https?|mailto):/i.test(link.href)) return label
      const href = link.href.replace(/[|<>]/g, encodeURIComponent)
      return label && label !== escapeMrkdwn(link.href) ? `<${href}|${label.replace(/[|]/g, "¦")}>` : `<${href}>`
    }
    case "image": {
      const image = token as Tokens.Image
      return /^https?:/i.test(image.href) ? `<${image.href}|${escapeMrkdwn(image.text || "image")}>` : ""
    }
    case "br":
      return "\n"
    case "text": {
      const text = token as Tokens.Text
      return text.tokens ? inline(text.tokens) : escapeMrkdwn(decode(text.text))
    }
    case "escape":
      return escapeMrkdwn((token as Tokens.Escape).text)
    case "html":
      return escapeMrkdwn((token as Tokens.HTML).text)
    default:
      return escapeMrkdwn("raw" in token ? String(token.raw) : "")
  }
}

/** marked keeps HTML entities it found in the source text as written; mrkdwn wants the characters. */
function decode(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
}

/** Code is escaped too: Slack reads `<!channel>` and `<@U…>` even inside code. */
const fence = (source: string) => `\`\`\`\n${escapeMrkdwn(source.replace(/```/g, "ˋˋˋ"))}\n\`\`\``

function block(token: Token): string | null {
  switch (token.type) {
    case "space":
      return null
    case "heading":
      return mark("*", inline((token as Tokens.Heading).tokens))
    case "paragraph":
      return inline((token as Tokens.Paragraph).tokens)
    case "code":
      return fence((token as Tokens.Code).text)
    case "blockquote": {
      const inner = blocks((token as Tokens.Blockquote).tokens)
      return inner
        .split("\n")
        .map((line) => `> ${line}`)
        .join("\n")
    }
    case "list": {
      const list = token as Tokens.List
      const start = typeof list.start === "number" ? list.start : 1
      return list.items
        .map((item, index) => {
          const bullet = item.task ? (item.checked ? "☑" : "☐") : list.ordered ? `${start + index}.` : "•"
          const body = blocks(item.tokens).replace(/\n/g, "\n    ")
          return `${bullet} ${body}`
        })
        .join("\n")
    }
    case "table":
      return fence(String(token.raw).trim())
    case "hr":
      return "───"
    case "html":
      return escapeMrkdwn(String(token.raw).trim())
    case "text": {
      const text = token as Tokens.Text
      return text.tokens ? inline(text.tokens) : escapeMrkdwn(decode(text.text))
    }
    default:
      return escapeMrkdwn(String("raw" in token ? token.raw : "").trim())
  }
}

function blocks(tokens: Token[]): string {
  return tokens
    .map(block)
    .filter((part): part is string => part !== null && part !== "")
    .join("\n\n")
}

/** The whole answer as mrkdwn. */
export function toMrkdwn(markdown: string): string {
  return blocks(marked.lexer(markdown, { gfm: true }))
}

/**
 * Split mrkdwn into messages of at most `limit` characters, preferring paragraph then line breaks and
 * never leaving a code fence open across two messages.
 */
export function splitMrkdwn(text: string, limit: number): string[] {
  const out: string[] = []
  let rest = text
  while (rest.length > limit) {
    let cut = rest.lastIndexOf("\n\n", limit)
    if (cut < limit / 2) cut = rest.lastIndexOf("\n", limit)
    if (cut < limit / 2) cut = limit
    let piece = rest.slice(0, cut)
    let next = rest.slice(cut).replace(/^\n+/, "")
    if ((piece.match(/```/g) ?? []).length % 2 === 1) {
      // Close the fence here and open it again in the next message.
      const at = Math.min(cut, limit - 4)
      piece = `${rest.slice(0, at)}\n\`\`\``
      next = `\`\`\`\n${rest.slice(at).replace(/^\n+/, "")}`
    }
    out.push(piece)
    rest = next
  }
  if (rest) out.push(rest)
  return out
}
