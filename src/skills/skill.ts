/**
 * One Agent Skill: a folder with a `SKILL.md` whose YAML front matter names and describes it, the open
 * format other agents read (agentskills.io specification). `parseSkill` reads the file and checks it
 * against the format's rules; a skill that breaks one comes back as a rejection with every reason, so
 * the owner can fix them all at once. Fields the format does not define are kept and reported as
 * warnings, not rejections: skills written for other agents carry their own extra keys.
 */
import { readFileSync, statSync } from "node:fs"
import { basename, join } from "node:path"

export const SKILL_FILE = "SKILL.md"
export const MAX_NAME = 64
export const MAX_DESCRIPTION = 1024
export const MAX_COMPATIBILITY = 500
/** A SKILL.md larger than this is refused: the body goes into the model's context when loaded. */
export const MAX_FILE_BYTES = 256 * 1024
/** The fields the format defines; anything else is a warning. */
export const FIELDS = ["name", "description", "license", "compatibility", "metadata", "allowed-tools"]

export interface Skill {
  name: string
  description: string
  license?: string
  compatibility?: string
  /** The format's `allowed-tools`, as a list (informational here: the tool policy still decides). */
  allowedTools?: string[]
  metadata?: Record<string, unknown>
  /** Absolute folder of the skill (its SKILL.md, scripts/, references/, assets/). */
  root: string
  /** Absolute path of its SKILL.md. */
  file: string
  /** Problems that do not stop it from loading (unknown fields, non-string metadata values). */
  warnings: string[]
}

export interface SkillRejection {
  /** The skill's folder. */
  root: string
  name?: string
  reasons: string[]
}

export type Parsed = { ok: true; skill: Skill; body: string } | { ok: false; rejection: SkillRejection }

/** Lowercase letters and digits in hyphen-separated runs: no leading, trailing or doubled hyphen. */
const NAME = /^[\p{Ll}\p{Lo}\p{Nd}]+(-[\p{Ll}\p{Lo}\p{Nd}]+)*$/u

/** Front matter and body of a SKILL.md text, or why there is no front matter. */
export function split(text: string): { yaml: string; body: string } | { error: string } {
  const clean = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n")
  if (!clean.startsWith("---\n")) return { error: "SKILL.md must start with YAML front matter between two --- lines" }
  const end = clean.indexOf("\n---", 3)
  if (end < 0) return { error: "the front matter is not closed by a --- line" }
  const after = clean.indexOf("\n", end + 4)
  const closing = clean.slice(end + 1, after < 0 ? undefined : after)
  if (closing.trim() !== "---") return { error: "the front matter is not closed by a --- line" }
  return { yaml: clean.slice(4, end + 1), body: after < 0 ? "" : clean.slice(after + 1) }
}

function check(data: Record<string, unknown>, folder: string | null): { reasons: string[]; warnings: string[] } {
  const reasons: string[] = []
  const warnings: string[] = []
  const name = data.name
  if (typeof name !== "string" || !name.trim()) reasons.push("name is missing (a string is required)")
  else {
    const normal = name.trim().normalize("NFKC")
    if (normal.length > MAX_NAME) reasons.push(`name "${normal}" is ${normal.length} characters (at most ${MAX_NAME})`)
    if (!NAME.test(normal))
      reasons.push(
        `name "${normal}" may hold only lowercase letters, digits and single hyphens, not at the start or end`,
      )
    if (folder !== null && folder.normalize("NFKC") !== normal)
      reasons.push(`name "${normal}" must match its folder's name "${folder}"`)
  }
  const description = data.description
  if (typeof description !== "string" || !description.trim())
    reasons.push("description is missing (a non-empty string is required)")
  else if (description.length > MAX_DESCRIPTION)
    reasons.push(`description is ${description.length} characters (at most ${MAX_DESCRIPTION})`)
  if ("license" in data && typeof data.license !== "string") reasons.push("license must be a string")
  if ("compatibility" in data) {
    const value = data.compatibility
    if (typeof value !== "string" || !value) reasons.push("compatibility must be a non-empty string")
    else if (value.length > MAX_COMPATIBILITY)
      reasons.push(`compatibility is ${value.length} characters (at most ${MAX_COMPATIBILITY})`)
  }
  if ("allowed-tools" in data) {
    const value = data["allowed-tools"]
    if (!(typeof value === "string" || (Array.isArray(value) && value.every((item) => typeof item === "string"))))
      reasons.push("allowed-tools must be a space-separated string or a list of strings")
  }
  if ("metadata" in data) {
    const value = data.metadata
    if (value === null || typeof value !== "object" || Array.isArray(value))
      reasons.push("metadata must be a mapping of keys to values")
    else
      for (const [key, item] of Object.entries(value))
        if (typeof item !== "string") warnings.push(`metadata.${key} is not a string (the format asks for strings)`)
  }
  for (const key of Object.keys(data))
    if (!FIELDS.includes(key)) warnings.push(`front matter field "${key}" is not part of the format; ignored`)
  return { reasons, warnings }
}

/**
 * Read and check `<root>/SKILL.md`. Never throws: every problem is a reason in the rejection.
 * `folder` is the name the skill's name must match (default: the root's own name; null: not checked,
 * for a skill about to be installed under its name).
 */
export function parseSkill(root: string, options: { folder?: string | null } = {}): Parsed {
  const file = join(root, SKILL_FILE)
  const reject = (reasons: string[], name?: string): Parsed => ({ ok: false, rejection: { root, name, reasons } })
  const info = statSync(file, { throwIfNoEntry: false })
  if (!info?.isFile()) return reject([`${SKILL_FILE} is missing`])
  if (info.size > MAX_FILE_BYTES) return reject([`${SKILL_FILE} is ${info.size} bytes (at most ${MAX_FILE_BYTES})`])
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (error) {
    return reject([`${SKILL_FILE} could not be read: ${(error as Error).message}`])
  }
  const parts = split(text)
  if ("error" in parts) return reject([parts.error])
  let data: unknown
  try {
    data = Bun.YAML.parse(parts.yaml)
  } catch (error) {
    return reject([`the front matter is not valid YAML: ${(error as Error).message}`])
  }
  if (data === null || typeof data !== "object" || Array.isArray(data))
    return reject(["the front matter must be a YAML mapping (name: …, description: …)"])
  const fields = data as Record<string, unknown>
  const { reasons, warnings } = check(fields, options.folder === undefined ? basename(root) : options.folder)
  const name = typeof fields.name === "string" ? fields.name.trim().normalize("NFKC") : undefined
  if (reasons.length) return reject(reasons, name)
  const tools = fields["allowed-tools"]
  return {
    ok: true,
    body: parts.body,
    skill: {
      name: name!,
      description: (fields.description as string).trim(),
      license: fields.license as string | undefined,
      compatibility: fields.compatibility as string | undefined,
      allowedTools:
        tools === undefined
          ? undefined
          : typeof tools === "string"
            ? tools.split(/\s+/).filter(Boolean)
            : (tools as string[]),
      metadata: fields.metadata as Record<string, unknown> | undefined,
      root,
      file,
      warnings,
    },
  }
}
