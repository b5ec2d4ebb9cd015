/** Pure text helpers of the dashboard: wrapping to a pane's width and one-line summaries. */

/** Wraps text to `width` columns (hard breaks at newlines, soft at spaces, long words cut). */
export function wrap(text: string, width: number): string[] {
  const out: string[] = []
  for (const paragraph of text.split("\n")) {
    let line = ""
    for (const word of paragraph.split(/(\s+)/)) {
      if (line.length + word.length <= width) {
        line += word
        continue
      }
      if (line.trim()) out.push(line.trimEnd())
      line = word.trimStart()
      while (line.length > width) {
        out.push(line.slice(0, width))
        line = line.slice(width)
      }
    }
    out.push(line.trimEnd())
  }
  return out
}

export const clip = (text: string, width: number) =>
  width <= 0 ? "" : text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text

export const preview = (value: unknown, max = 60) =>
  clip((typeof value === "string" ? value : (JSON.stringify(value) ?? "")).replace(/\s+/g, " "), max)

export const clock = (at: number) => new Date(at).toISOString().slice(11, 19)

/** The smallest terminal the dashboard lays out in; below it `drost tui` is `drost chat`. */
export const MIN_COLS = 60
export const MIN_ROWS = 16
