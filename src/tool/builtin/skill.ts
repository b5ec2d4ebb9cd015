/**
 * `skill.load` and `skill.read`: progressive disclosure of Agent Skills. The system prompt lists only
 * each enabled skill's name and description; the model loads a skill's instructions (the SKILL.md body)
 * with `skill.load` when a task matches, and reads the files it bundles with `skill.read` when the
 * instructions point at them. Scripts are not run here: they run through the `shell` tool, inside the
 * same OS sandbox as every other command.
 */
import { Type } from "../../core/schema.ts"
import type { SkillCatalog } from "../../skills/catalog.ts"
import { bundled, readBundled } from "../../skills/files.ts"
import { parseSkill } from "../../skills/skill.ts"
import type { Boundary } from "../../workspace/boundary.ts"
import type { RegisteredTool } from "../registry.ts"

/** `refresh` re-reads changed skills first (the gateway's, which also publishes skills.reloaded). */
export function skillTools(
  catalog: SkillCatalog,
  boundary: Boundary | null,
  refresh: () => unknown = () => catalog.refresh(),
): RegisteredTool[] {
  const usable = (name: string, sessionId: string) => {
    refresh()
    const why = catalog.unusable(name, sessionId || null)
    if (why) throw new Error(why)
    return catalog.get(name)!
  }
  const load: RegisteredTool = {
    name: "skill.load",
    source: "builtin",
    description:
      "Load a skill's instructions (its SKILL.md) and the list of files it bundles. Call it when a task matches a skill listed in the system prompt, before starting the task, then follow the instructions. Read a bundled file with skill.read; run a bundled script with the shell tool, by the path shown.",
    parameters: Type.Object(
      { name: Type.String({ minLength: 1, description: "The skill's name, as listed under # Skills" }) },
      { additionalProperties: false },
    ),
    execute(args, ctx) {
      const skill = usable((args as { name: string }).name, ctx.sessionId)
      const parsed = parseSkill(skill.root)
      if (!parsed.ok) throw new Error(`skill "${skill.name}" is broken now: ${parsed.rejection.reasons.join("; ")}`)
      const folder = catalog.shown(skill)
      const { files, more } = bundled(skill.root)
      const lines = [
        `# Skill: ${skill.name}`,
        `Folder: ${folder}${folder === skill.root ? "" : ` (in the workspace; absolute ${skill.root})`}`,
        `Files: ${files.length ? files.join(", ") : "none besides SKILL.md"}${more ? ` (and ${more} more)` : ""}`,
        `Read a file with skill.read { "skill": "${skill.name}", "path": "<file>" }; run a script with the shell tool, e.g. \`bash ${folder}/scripts/<script>\`, working in the workspace.`,
      ]
      if (skill.allowedTools?.length)
        lines.push(
          `Its allowed-tools (${skill.allowedTools.join(" ")}) are not pre-approved here: the tool policy and approvals apply as always.`,
        )
      return `${lines.join("\n")}\n\n${parsed.body.trim()}`
    },
  }
  const read: RegisteredTool = {
    name: "skill.read",
    source: "builtin",
    description:
      "Read one file a skill bundles (references/…, assets/…, scripts/…), by its path relative to the skill's folder, as skill.load lists them.",
    parameters: Type.Object(
      {
        skill: Type.String({ minLength: 1, description: "The skill's name" }),
        path: Type.String({
          minLength: 1,
          description: "Path inside the skill's folder, e.g. references/REFERENCE.md",
        }),
      },
      { additionalProperties: false },
    ),
    execute(args, ctx) {
      const { skill: name, path } = args as { skill: string; path: string }
      const skill = usable(name, ctx.sessionId)
      return readBundled(skill.root, path, boundary)
    },
  }
  return [load, read]
}
