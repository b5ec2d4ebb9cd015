/**
 * The text of `/tools` and the tools line of `/status`: what is loaded (with where it runs and whether
 * the policy lets the model use it) and what was rejected, with the reason.
 */
import type { ToolRegistry } from "./registry.ts"

/** `text` shortened to at most `max` characters at a word boundary, with "…" when anything was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= 1) return "…".slice(0, max)
  const cut = text.slice(0, max - 1)
  const space = cut.search(/\s+\S*$/)
  // A single word longer than half the room is cut inside it rather than leaving the line empty.
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`
}

/** `width`: the columns a line may use (a terminal's width; default 100). Descriptions fill the rest. */
export function toolsReport(registry: ToolRegistry, options: { width?: number } = {}): string {
  const width = options.width ?? 100
  const lines = registry.list().map((tool) => {
    const verdict = registry.allowed(tool.name)
    const where = tool.runner ?? tool.source
    const mark = verdict.allowed ? " " : "✗"
    const head = `${mark} ${tool.name.padEnd(24)} ${where.padEnd(12)} `
    return `${head}${clip(tool.description.split("\n")[0]!, Math.max(20, width - head.length))}`.trimEnd()
  })
  const denied = registry.list().filter((tool) => !registry.allowed(tool.name).allowed).length
  const rejected = registry.rejected()
  const out = [...lines]
  if (denied) out.push(`(✗ = denied by the tool policy; the model is not offered it)`)
  if (rejected.length) {
    out.push("", `rejected (${rejected.length}):`)
    for (const item of rejected) out.push(`  ${item.file}${item.name ? ` (${item.name})` : ""}: ${item.reason}`)
  }
  return out.join("\n")
}

export function toolsSummary(registry: ToolRegistry): string {
  const rejected = registry.rejected().length
  return `tools: ${registry.list().length} loaded, ${rejected} rejected${rejected ? " (see /tools)" : ""}`
}
