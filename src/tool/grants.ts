/**
 * What the owner granted a tool's sandbox (`tools.grants`): environment variables and network. A
 * tool never grants itself anything; names match like the tool policy (exact, `family.*`, `*`), and
 * every matching entry adds up.
 */
import type { ToolGrant } from "../core/tools-config.ts"
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

/** The granted variables that are set in our environment, by name. */
export function grantedEnv(grant: ToolGrant, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of grant.env) if (env[name] !== undefined) out[name] = env[name]!
  return out
}
