/**
 * The skills listing of `/skills` and `drost skill list`: one line per skill (on, off in the config, off
 * for this session), then each rejected skill with its reasons, fitted to the surface's width.
 */
import type { CatalogSnapshot } from "./catalog.ts"

const fit = (line: string, width: number) => (line.length > width ? `${line.slice(0, width - 1)}…` : line)

/** `show` turns a folder into what the reader sees (relative to the workspace when inside it). */
export function skillsReport(
  snapshot: CatalogSnapshot,
  off: string[],
  width: number,
  show: (folder: string) => string,
): string {
  if (snapshot.skills.length === 0 && snapshot.rejected.length === 0)
    return "no skills (add skills/<name>/SKILL.md, or drost skill new <name>)"
  const pad = Math.min(28, Math.max(4, ...snapshot.skills.map((skill) => skill.name.length)))
  const lines = snapshot.skills.map((skill) => {
    const state = skill.disabled ? "off (config)" : off.includes(skill.name) ? "off (session)" : "on"
    return fit(`${skill.name.padEnd(pad)} ${state.padEnd(13)} ${skill.description.replace(/\s+/g, " ")}`, width)
  })
  for (const rejected of snapshot.rejected)
    lines.push(`rejected ${show(rejected.root)}: ${rejected.reasons.join("; ")}`)
  const on = snapshot.skills.filter((skill) => !skill.disabled && !off.includes(skill.name)).length
  lines.push(`${snapshot.skills.length} skills (${on} on), ${snapshot.rejected.length} rejected`)
  return lines.join("\n")
}
