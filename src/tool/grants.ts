/**
 * What the owner granted a tool's sandbox (`tools.grants`): environment variables and network. A
 * tool never grants itself anything; names match like the tool policy (exact, `family.*`, `*`), and
 * every matching entry adds up.
 */
import type { ToolGrant } from "../core/tools-config.ts"
import { Flag } from "../util/flag.ts"
import { matches } from "./policy.ts"

export type { ToolGrant }

export function grantFor(grants: Record<string, ToolGrant> | undefined, name: string): ToolGrant {
  const out: ToolGrant = { env: [], network: false }
  for (const [pattern, grant] of Object.entries(grants ?? {})) {
    if (!matches(pattern, name)) continue
    for (const variable of grant.env ?? []) if (!out.env.includes(variable)) out.env.push(variable)
    out.network ||= grant.network ?? false
  }
  return out
}

/** The granted variables that are set in our environment (looked up through util/flag.ts), by name. */
export function grantedEnv(grant: ToolGrant): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of grant.env) {
    const value = Flag.get(name)
    if (value !== undefined) out[name] = value
  }
  return out
}
