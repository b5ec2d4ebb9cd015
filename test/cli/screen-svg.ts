/**
 * A picture of a terminal screen for the docs: the rows vt.ts rendered, drawn as monospace text in an
 * SVG (no browser or image library needed, and the text stays selectable and diffable in git).
 */
const xml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

export function screenSvg(rows: string[], cols: number): string {
  const cell = { width: 8.4, height: 17 }
  const pad = 12
  const width = Math.ceil(cols * cell.width + pad * 2)
  const height = Math.ceil(rows.length * cell.height + pad * 2)
  const lines = rows
    .flatMap((row, index) => (row ? [[row, index] as const] : []))
    .map(
      ([row, index]) =>
        // textLength pins every row to the grid, whatever widths the viewer's font gives box-drawing glyphs.
        `  <text x="${pad}" y="${pad + (index + 1) * cell.height - 4}" textLength="${(row.length * cell.width).toFixed(1)}" lengthAdjust="spacingAndGlyphs" xml:space="preserve">${xml(row)}</text>`,
    )
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `  <rect width="100%" height="100%" rx="6" fill="#1e1e2e"/>`,
    `  <g fill="#cdd6f4" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">`,
    ...lines,
    "  </g>",
    "</svg>",
    "",
  ].join("\n")
}
