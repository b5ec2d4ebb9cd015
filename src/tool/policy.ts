/**
 * Tool policy: which registered tools the model may call. A deny entry always wins; a non-empty allow
 * list admits only what it names; the profile removes whole families (`strict` drops the shell and the
 * web). Patterns are exact names, `prefix.*` (a family, e.g. `git.*`, `mymcp.*`) or `*`.
 */

export type Profile = "strict" | "balanced" | "permissive"

export interface PolicyConfig {
  profile: Profile
  allow: string[]
  deny: string[]
}

export type Decision = { allowed: true } | { allowed: false; reason: string }

/** What each profile refuses on top of the deny list. */
export const PROFILE_DENY: Record<Profile, string[]> = {
  strict: ["shell", "web.*", "git.commit"],
  balanced: [],
  permissive: [],
}

export function matches(pattern: string, name: string): boolean {
  if (pattern === "*" || pattern === name) return true
  if (pattern.endsWith(".*")) return name.startsWith(pattern.slice(0, -1))
  if (pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1))
  return false
}

export function decide(policy: PolicyConfig, name: string): Decision {
  const denied = policy.deny.find((pattern) => matches(pattern, name))
  if (denied) return { allowed: false, reason: `"${name}" is denied by tools.deny ("${denied}")` }
  if (policy.allow.length && !policy.allow.some((pattern) => matches(pattern, name)))
    return { allowed: false, reason: `"${name}" is not in tools.allow (${policy.allow.join(", ")})` }
  const dropped = PROFILE_DENY[policy.profile].find((pattern) => matches(pattern, name))
  if (dropped) return { allowed: false, reason: `"${name}" is not available in the "${policy.profile}" tool profile` }
  return { allowed: true }
}
