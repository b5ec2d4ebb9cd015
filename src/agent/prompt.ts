/**
 * The built-in system prompt, used when `prompts/system.md` is missing or empty. The prompt a turn
 * actually sends is assembled in context.ts (system.md, persona files, runtime facts, memory capsule).
 */
export const DEFAULT_SYSTEM_PROMPT = `You are Drost, a persistent agent running inside the user's workspace.
Use the tools you are given to inspect files before answering questions about them. Be concise.`

/** What a skills section tells the model, before the list of skills (the Agent Skills format's level 1). */
export const SKILLS_PREAMBLE = `# Skills
Skills are instructions for particular tasks. When a task matches a skill's description, call skill.load with its name before you start, then follow what it says. Read the files it bundles with skill.read; run its scripts with the shell tool.`

/**
 * The skills section of the system prompt: each skill's name and description, within `budget`
 * characters. Skills past the budget are counted, not listed, so the model knows some are missing.
 */
export function skillsSection(skills: { name: string; description: string }[], budget: number): string | null {
  if (skills.length === 0 || budget <= 0) return null
  const lines: string[] = []
  let used = SKILLS_PREAMBLE.length
  for (const skill of skills) {
    const line = `- ${skill.name}: ${skill.description.replace(/\s+/g, " ").trim()}`
    if (used + line.length + 1 > budget) break
    lines.push(line)
    used += line.length + 1
  }
  const left = skills.length - lines.length
  if (left) lines.push(`- (${left} more skill${left === 1 ? "" : "s"} not listed: raise skills.promptBudgetChars)`)
  return [SKILLS_PREAMBLE, ...lines].join("\n")
}
