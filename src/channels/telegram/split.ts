/**
 * Splits a rendered answer into messages within Telegram's limit (4,096 characters of displayed text,
 * counted in UTF-16 units as JavaScript does). Cuts fall between blocks (paragraphs, lists, code
 * blocks); a single block over the limit is cut between lines (a code block stays a code block in
 * every piece), and a single line over the limit between words.
 */
import { type Block, blocks, codeBlock, escapeHtml } from "./render.ts"

export const MESSAGE_LIMIT = 4096

export interface Chunk {
  html: string
  /** What Telegram displays; also the plain-text fallback. */
  text: string
}

/** Cut `text` into pieces of at most `limit`, preferring line breaks, then spaces. */
export function cutText(text: string, limit: number): string[] {
  const out: string[] = []
  let current = ""
  const push = (piece: string) => {
    if (current && current.length + 1 + piece.length > limit) {
      out.push(current)
      current = piece
    } else current = current ? `${current}\n${piece}` : piece
  }
  for (const line of text.split("\n")) {
    let rest = line
    while (rest.length > limit) {
      const space = rest.lastIndexOf(" ", limit)
      const at = space > limit / 2 ? space : limit
      push(rest.slice(0, at))
      rest = rest.slice(at).replace(/^ /, "")
    }
    push(rest)
  }
  if (current) out.push(current)
  return out
}

function cut(block: Block, limit: number): Block[] {
  if (block.code) return cutText(block.code.source, limit).map((source) => codeBlock(source, block.code!.lang))
  return cutText(block.text, limit).map((text) => ({ html: escapeHtml(text), text }))
}

/** Markdown → messages: HTML plus the displayed text of each, in order. */
export function split(markdown: string, limit = MESSAGE_LIMIT): Chunk[] {
  return pack(blocks(markdown), limit)
}

/** Pack rendered blocks into messages, in order, each within `limit`, blocks separated by a blank line. */
export function pack(items: Block[], limit = MESSAGE_LIMIT): Chunk[] {
  const pieces = items.flatMap((block) => (block.text.length <= limit ? [block] : cut(block, limit)))
  const chunks: Chunk[] = []
  let current: Block[] = []
  let length = 0
  const flush = () => {
    if (current.length === 0) return
    chunks.push({
      html: current.map((block) => block.html).join("\n\n"),
      text: current.map((block) => block.text).join("\n\n"),
    })
    current = []
    length = 0
  }
  for (const piece of pieces) {
    const added = (current.length ? 2 : 0) + piece.text.length
    if (current.length && length + added > limit) flush()
    length += (current.length ? 2 : 0) + piece.text.length
    current.push(piece)
  }
  flush()
  return chunks
}
