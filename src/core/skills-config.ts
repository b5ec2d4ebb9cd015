/**
 * The `skills` config section: where Agent Skills are found besides the workspace's `skills/` folder,
 * which are off for everyone, and how much of the system prompt their names and descriptions may use.
 */
import { type Static, Type } from "./schema.ts"

export const Skills = Type.Object(
  {
    paths: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "More folders holding skills (<folder>/<name>/SKILL.md), relative to the workspace; skills/ is always read",
    }),
    disabled: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "Skill names that are off: not in the prompt, refused by skill.load",
    }),
    promptBudgetChars: Type.Integer({
      minimum: 0,
      default: 4000,
      description: "Characters of the system prompt the list of skills (name and description each) may use",
    }),
  },
  { additionalProperties: false },
)

export type SkillsConfig = Static<typeof Skills>

/** The section with every default filled in (configs built by hand in tests may omit it). */
export const SKILLS_DEFAULTS: SkillsConfig = { paths: [], disabled: [], promptBudgetChars: 4000 }
