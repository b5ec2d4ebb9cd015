/**
 * The text of `/tools` and the tools line of `/status`: what is loaded (with where it runs and whether
 * the policy lets the model use it) and what was rejected, with the reason.
 */
import type { ToolRegistry } from "./registry.ts"

export function toolsReport(registry: ToolRegistry): string {
  const lines = registry.list().map((tool) => {
    const verdict = registry.allowed(tool.name)
    const where = tool.runner ?? tool.source
    const mark = verdict.allowed ? " " : "✗"
    return `${mark} ${tool.name.padEnd(24)} ${where.padEnd(12)} ${tool.description.split("\n")[0]!.slice(0, 100)}`
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
