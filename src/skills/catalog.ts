/**
 * The skills a workspace has: every `<folder>/<name>/SKILL.md` under the workspace's `skills/` and the
 * config's `skills.paths`, checked by skill.ts. `refresh()` (at every turn start, /skills and the API)
 * re-reads them only when a SKILL.md or a skill folder was added, changed or removed (a stat signature),
 * so an edit takes effect on the next turn without a restart, like a workspace tool. A broken skill is
 * a rejection with its reasons and the others load; the same name twice keeps the first (skills/ before
 * the config's paths) and rejects the other.
 *
 * Which skills a turn sees: the enabled ones, i.e. not in `skills.disabled` and not turned off for the
 * session (`/skills off <name>`, kept in the store's key-value table so it survives a restart).
 */
import { readdirSync, statSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { parseSkill, SKILL_FILE, type Skill, type SkillRejection } from "./skill.ts"

/** Where a session's own "off" list is kept (the store's key-value table). */
export interface SessionSwitches {
  get(key: string): string | null
  /** May resolve later (an asynchronous store); `setSession` waits for it. */
  set(key: string, value: string): void | Promise<void>
}

export interface CatalogOptions {
  workspace: string
  /** The config's `skills.paths` (relative to the workspace or absolute). */
  paths: () => string[]
  /** The config's `skills.disabled`. */
  disabled: () => string[]
  switches?: SessionSwitches
}

export interface SkillState extends Skill {
  /** Off in the config (`skills.disabled`). */
  disabled: boolean
  /** Which folder it was found in (`skills` or a configured path, as written). */
  from: string
}

export interface CatalogSnapshot {
  skills: SkillState[]
  rejected: SkillRejection[]
  /** Bumped on every reload that found a change. */
  generation: number
}

/** The key of a session's "off" list in the switches. */
export const offKey = (sessionId: string) => `skills.off.${sessionId}`

/** Skill folders under `dir`: its subfolders, hidden ones aside (a folder without SKILL.md is rejected). */
function folders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => !entry.name.startsWith(".") && (entry.isDirectory() || entry.isSymbolicLink()))
      .map((entry) => join(dir, entry.name))
      .filter((path) => statSync(path, { throwIfNoEntry: false })?.isDirectory())
      .sort()
  } catch {
    return []
  }
}

/**
 * `folders`, for the signature taken at every turn start. Most workspaces have an empty `skills/` (the
 * gateway creates it) or none: a folder that was empty or absent last time and whose own mtime and
 * ctime have not moved since (adding, removing or renaming an entry moves them) is still empty, known
 * from one stat instead of a listing. A folder with skills is listed every time, since an edit inside a
 * skill's folder does not touch it.
 */
function emptyAware(): (dir: string) => string[] {
  const empty = new Map<string, string>()
  return (dir) => {
    const info = statSync(dir, { throwIfNoEntry: false })
    const mark = info ? `${info.mtimeMs}:${info.ctimeMs}` : "-"
    if (empty.get(dir) === mark) return []
    const found = info?.isDirectory() ? folders(dir) : []
    // File times tick coarsely (a few ms): a folder changed within the last second is listed again next
    // time, so an entry added in the same tick as the change before it is not missed.
    const settled = !info || Date.now() - Math.max(info.mtimeMs, info.ctimeMs) > 1000
    if (found.length === 0 && settled) empty.set(dir, mark)
    else empty.delete(dir)
    return found
  }
}

export type SkillCatalog = ReturnType<typeof createSkillCatalog>

export function createSkillCatalog(options: CatalogOptions) {
  let signature: string | null = null
  let snapshot: CatalogSnapshot = { skills: [], rejected: [], generation: 0 }

  const sources = (): { label: string; dir: string }[] => {
    const list = [{ label: "skills", dir: resolve(options.workspace, "skills") }]
    for (const path of options.paths()) {
      const dir = resolve(options.workspace, path)
      if (!list.some((each) => each.dir === dir)) list.push({ label: path, dir })
    }
    return list
  }

  const listed = emptyAware()
  const stamp = (): string => {
    const parts: string[] = [options.disabled().join(",")]
    for (const source of sources())
      for (const root of listed(source.dir)) {
        const info = statSync(join(root, SKILL_FILE), { throwIfNoEntry: false })
        parts.push(`${root}:${info ? `${info.mtimeMs}:${info.size}` : "-"}`)
      }
    return parts.join("|")
  }

  const load = (): CatalogSnapshot => {
    const off = new Set(options.disabled())
    const skills: SkillState[] = []
    const rejected: SkillRejection[] = []
    for (const source of sources())
      for (const root of folders(source.dir)) {
        const parsed = parseSkill(root)
        if (!parsed.ok) {
          rejected.push(parsed.rejection)
          continue
        }
        const taken = skills.find((skill) => skill.name === parsed.skill.name)
        if (taken) {
          rejected.push({
            root,
            name: parsed.skill.name,
            reasons: [`name clash: "${parsed.skill.name}" is already provided by ${taken.root}`],
          })
          continue
        }
        skills.push({ ...parsed.skill, disabled: off.has(parsed.skill.name), from: source.label })
      }
    return { skills, rejected, generation: snapshot.generation + 1 }
  }

  const sessionOff = (sessionId: string | null): string[] => {
    if (!sessionId || !options.switches) return []
    try {
      const value = JSON.parse(options.switches.get(offKey(sessionId)) ?? "[]")
      return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : []
    } catch {
      return []
    }
  }

  const catalog = {
    /** Re-read the skills when anything changed; cheap (stats only) when nothing did. */
    refresh(force = false): CatalogSnapshot {
      const next = stamp()
      if (force || next !== signature) {
        snapshot = load()
        signature = next
      }
      return snapshot
    },
    snapshot: () => snapshot,
    get: (name: string): SkillState | undefined => snapshot.skills.find((skill) => skill.name === name),
    /** Turned off for this session (`/skills off <name>`). */
    sessionOff,
    /** The skills a turn of `sessionId` may use: not disabled in the config, not off for the session. */
    enabled(sessionId: string | null): SkillState[] {
      // No skills, nothing to filter: skip the session's off-list (a store read and a JSON parse per turn).
      if (snapshot.skills.length === 0) return []
      const off = new Set(sessionOff(sessionId))
      return snapshot.skills.filter((skill) => !skill.disabled && !off.has(skill.name))
    },
    /** Why `name` cannot be used in `sessionId`, or null when it can. */
    unusable(name: string, sessionId: string | null): string | null {
      const skill = catalog.get(name)
      if (!skill) {
        const rejected = snapshot.rejected.find((each) => each.name === name)
        if (rejected) return `skill "${name}" is broken: ${rejected.reasons.join("; ")}`
        const known = catalog.enabled(sessionId).map((each) => each.name)
        return `no skill named "${name}"${known.length ? `; available: ${known.join(", ")}` : "; none are installed"}`
      }
      if (skill.disabled) return `skill "${name}" is disabled in the config (skills.disabled)`
      if (sessionOff(sessionId).includes(name))
        return `skill "${name}" is turned off for this session (/skills on ${name} turns it back on)`
      return null
    },
    /** Turn a skill on or off for one session; throws when there is no such skill. */
    async setSession(sessionId: string, name: string, on: boolean): Promise<string[]> {
      if (!options.switches) throw new Error("per-session skill switches need the session store")
      if (!catalog.get(name)) throw new Error(catalog.unusable(name, sessionId) ?? `no skill named "${name}"`)
      const off = new Set(sessionOff(sessionId))
      if (on) off.delete(name)
      else off.add(name)
      const list = [...off].sort()
      await options.switches.set(offKey(sessionId), JSON.stringify(list))
      return list
    },
    /** A skill's folder as the model should see it: relative to the workspace when inside it. */
    shown(skill: Pick<Skill, "root">): string {
      const rel = relative(options.workspace, skill.root)
      return rel && !rel.startsWith("..") ? rel : skill.root
    },
  }
  return catalog
}
