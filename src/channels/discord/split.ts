/**
 * Discord takes at most 2,000 characters per message (a longer one is refused with 400, code 50035).
 * Discord renders Markdown itself, so an answer is sent as written, cut into messages at line ends where
 * possible; a cut inside a ``` block closes the fence and reopens it (with its language) in the next
 * message, so both halves still render as code.
 */
export const MESSAGE_LIMIT = 2000

export function split(text: string, limit = MESSAGE_LIMIT): string[] {
  const out: string[] = []
  let rest = text.trim()
  let reopen = ""
  while (rest.length) {
    const room = limit - reopen.length - 4 // room for a closing "\n```"
    if (reopen.length + rest.length <= limit) {
      out.push(reopen + rest)
      break
    }
    const line = rest.lastIndexOf("\n", room)
    const space = rest.lastIndexOf(" ", room)
    const cut = line > room / 2 ? line : space > room / 2 ? space : room
    let piece = reopen + rest.slice(0, cut)
    rest = rest.slice(cut).replace(/^[\n ]/, "")
    // An odd number of fences: this piece ends inside a code block.
    const fences = [...piece.matchAll(/^```(\S*)/gm)]
    if (fences.length % 2 === 1) {
      piece += "\n```"
      reopen = `\`\`\`${fences.at(-1)?.[1] ?? ""}\n`
    } else reopen = ""
    out.push(piece)
  }
  return out.filter((piece) => piece.trim().length > 0)
}
