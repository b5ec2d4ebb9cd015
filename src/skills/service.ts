/**
 * Skills in a running gateway, built from the config in one call: the catalog (discovery, hot reload,
 * per-session switches in the store's key-value table) and the prompt section of a session's turn.
 * Every reload that found a change is published (skills.reloaded), and a newly broken skill is logged
 * once, like a rejected tool.
 */
import type { Config } from "../core/config.ts"
import { SKILLS_DEFAULTS, type SkillsConfig } from "../core/skills-config.ts"
import type { Logger } from "../util/log.ts"
import { createSkillCatalog, type SessionSwitches } from "./catalog.ts"
import { type Emit, SkillsEvent } from "./events.ts"

export function skillsConfig(config: Pick<Config, "skills">): SkillsConfig {
  return { ...SKILLS_DEFAULTS, ...config.skills }
}

export interface SkillsOptions {
  log: Logger
  /** Publishes skills.reloaded (the gateway's bus). */
  emit?: Emit
  switches?: SessionSwitches
  /** Formats the prompt section (agent/prompt.ts skillsSection; injected: agent sits above this layer). */
  section: (skills: { name: string; description: string }[], budget: number) => string | null
}

export function createSkills(config: Pick<Config, "workspaceDir" | "skills">, options: SkillsOptions) {
  const settings = skillsConfig(config)
  const catalog = createSkillCatalog({
    workspace: config.workspaceDir,
    paths: () => settings.paths,
    disabled: () => settings.disabled,
    switches: options.switches,
  })
  let generation = 0
  /** Rejections already logged (folder and reasons), so a skill that stays broken is logged once. */
  let logged = new Set<string>()
  const refresh = (force = false) => {
    const snapshot = catalog.refresh(force)
    if (snapshot.generation !== generation) {
      generation = snapshot.generation
      const now = new Set<string>()
      for (const rejected of snapshot.rejected) {
        const key = `${rejected.root}|${rejected.reasons.join("|")}`
        now.add(key)
        if (!logged.has(key)) options.log.warn("skill rejected", { folder: rejected.root, reasons: rejected.reasons })
      }
      logged = now
      options.emit?.(SkillsEvent.Reloaded, {
        generation,
        loaded: snapshot.skills.map((skill) => skill.name),
        rejected: snapshot.rejected.map((rejected) => ({ folder: rejected.root, reasons: rejected.reasons })),
      })
    }
    return snapshot
  }
  return {
    catalog,
    settings,
    refresh,
    /** The skills section of a turn of `sessionId` (enabled skills only, within the budget). */
    section(sessionId: string | null): string | null {
      return options.section(catalog.enabled(sessionId), settings.promptBudgetChars)
    },
  }
}

export type Skills = ReturnType<typeof createSkills>
