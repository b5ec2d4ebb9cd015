/**
 * Prompt assembly: the system prompt a turn sends, built from four budgeted parts in a fixed order —
 * `prompts/system.md`, the workspace persona files (AGENTS.md, SOUL.md, USER.md, MEMORY.md by default),
 * runtime facts (date, time zone, workspace, tools) and a small memory capsule (the tail of today's and
 * yesterday's daily notes). Each file is read again only after it changed (util/file-cache.ts). Stable parts come
 * first and the facts change at most once an hour, so providers' prompt caches keep hitting.
 */
import { join } from "node:path"
import type { ContextConfig } from "../core/continuity-config.ts"
import { day } from "../memory/notes.ts"
import { createFileCache } from "../util/file-cache.ts"
import { DEFAULT_SYSTEM_PROMPT } from "./prompt.ts"
import { clip, estimate } from "./tokens.ts"

export interface PromptSection {
  name: string
  /** The file it came from, when it came from one. */
  file?: string
  tokens: number
  clipped: boolean
}

export interface SystemPrompt {
  text: string
  sections: PromptSection[]
  tokens: number
}

export interface ContextSources {
  config: () => ContextConfig
  /** Absolute path of prompts/system.md (or its configured replacement). */
  systemFile: string
  workspace: string
  memoryDir: string
  tools: () => string[]
  /** The skills section for a session's turn (agent/prompt.ts skillsSection), or null when there are none. */
  skills?: (sessionId: string | null) => string | null
  now?: () => number
}

/** The process's time zone (read once: building an Intl.DateTimeFormat costs about 0.1 ms). */
let processZone: string | null = null
const localZone = () => (processZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone)

/** Formatters are built once per zone and shape: constructing one per turn was the hottest spot of a turn. */
const formatters = new Map<string, Intl.DateTimeFormat>()
function formatter(locale: string, timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${JSON.stringify(options)}`
  let cached = formatters.get(key)
  if (!cached) {
    cached = new Intl.DateTimeFormat(locale, { timeZone, ...options })
    formatters.set(key, cached)
  }
  return cached
}

export type ContextBuilder = ReturnType<typeof createContextBuilder>

export function createContextBuilder(sources: ContextSources) {
  const files = createFileCache()
  const read = files.read
  const now = sources.now ?? Date.now

  // The dates and hour a prompt shows change at most once a minute in any zone (offsets are whole
  // minutes): formatting them through Intl four times per turn was a third of the prompt's cost.
  let clock: { minute: number; zone: string; notesZone: string | undefined; facts: string; notes: string[] } | null =
    null
  const times = (config: ContextConfig) => {
    const time = now()
    const minute = Math.floor(time / 60_000)
    const zone = config.timeZone ?? localZone()
    if (clock && clock.minute === minute && clock.zone === zone && clock.notesZone === config.timeZone) return clock
    const weekday = formatter("en-GB", zone, { weekday: "long" }).format(time)
    const hour = formatter("en-GB", zone, { hour: "2-digit", hour12: false }).format(time)
    clock = {
      minute,
      zone,
      notesZone: config.timeZone,
      facts: `- Date: ${weekday} ${day(time, zone)}, around ${hour}:00 (${zone})`,
      notes: [day(time - 86_400_000, config.timeZone), day(time, config.timeZone)],
    }
    return clock
  }

  const facts = (config: ContextConfig): string => {
    const tools = sources.tools()
    return [
      "# Runtime",
      times(config).facts,
      `- Workspace: ${sources.workspace}`,
      `- Memory: Markdown notes in memory/ (search with memory.search, append with memory.write)`,
      `- Tools: ${tools.length ? tools.join(", ") : "none"}`,
    ].join("\n")
  }

  const capsule = (config: ContextConfig): string | null => {
    const notes = times(config)
      .notes.map((name) => ({ name, text: read(join(sources.memoryDir, `${name}.md`))?.trim() }))
      .filter((note): note is { name: string; text: string } => Boolean(note.text))
    if (notes.length === 0) return null
    // The newest lines matter most: keep the tail of each note within the budget, today first.
    let left = config.memoryTokens * 4
    const kept: string[] = []
    for (const note of notes.reverse()) {
      if (left <= 0) break
      const body = note.text.length > left ? `…${note.text.slice(note.text.length - left)}` : note.text
      left -= body.length
      kept.unshift(`## memory/${note.name}.md\n${body}`)
    }
    return ["# Recent memory", ...kept].join("\n\n")
  }

  return {
    /** The system prompt for the next turn (of `sessionId`: its skills), with the size of each part. */
    system(sessionId: string | null = null): SystemPrompt {
      files.refresh()
      const config = sources.config()
      const sections: PromptSection[] = []
      const parts: string[] = []
      const add = (name: string, text: string, budget: number, hint: string, file?: string) => {
        const cut = clip(text.trim(), budget, hint)
        if (!cut.text) return
        parts.push(cut.text)
        sections.push({ name, file, tokens: estimate(cut.text), clipped: cut.clipped })
      }
      add(
        "system",
        read(sources.systemFile)?.trim() || DEFAULT_SYSTEM_PROMPT,
        config.systemTokens,
        "raise context.systemTokens",
        sources.systemFile,
      )
      let persona = config.personaTokens
      for (const name of config.personaFiles) {
        const file = join(sources.workspace, name)
        const text = read(file)?.trim()
        if (!text) continue
        const before = parts.length
        add(`persona:${name}`, `# ${name}\n\n${text}`, persona, "raise context.personaTokens", file)
        if (parts.length > before) persona -= sections.at(-1)!.tokens
      }
      add("facts", facts(config), config.factsTokens, "raise context.factsTokens")
      // Sized by skills.promptBudgetChars already; the token budget here only guards against a runaway.
      const skills = sources.skills?.(sessionId)
      if (skills) add("skills", skills, Math.ceil(skills.length / 2), "raise skills.promptBudgetChars")
      const memory = capsule(config)
      if (memory) add("memory", memory, config.memoryTokens + 40, "raise context.memoryTokens")
      const text = parts.join("\n\n")
      return { text, sections, tokens: estimate(text) }
    },
  }
}
