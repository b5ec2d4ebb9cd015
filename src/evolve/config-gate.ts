/**
 * The config gate: a transaction that changes the config file must leave one that loads with the real
 * loader and schema (its semantic checks included: an unknown default provider, a duplicate profile
 * id…) and that weakens none of the guarded settings (guard.ts). The file is loaded by
 * `drost evolution check-config <file>` in the gates' sandbox, because a TypeScript config is code:
 * the loaded config comes back as one JSON line and is compared here, in the trusted process.
 *
 * Limit: a TypeScript config is evaluated again, unconfined, when the gateway starts, and code can
 * evaluate differently there (or fake the line above). Listing such a file in `mutableRoots` trusts a
 * transaction as much as listing `src/`; the supervisor still rolls back a start that fails.
 */
import type { Config } from "../core/config.ts"
import { clip } from "./audit.ts"
import type { Confined } from "./confine.ts"
import { weakened } from "./guard.ts"
import { self } from "./self.ts"

const TIMEOUT_MS = 30_000
/** The line `check-config` prints; anything else on its output is the config's own noise. */
export const CHECK_CONFIG_MARK = "drost-check-config "

export type CheckConfigResult = { ok: true; config: Config } | { ok: false; issues: string[] }

export async function configGate(config: Config, confined: Confined): Promise<{ ok: boolean; output: string }> {
  const file = config.file!
  const run = await confined.run([...self(), "evolution", "check-config", file], {
    timeoutMs: TIMEOUT_MS,
    config: true,
  })
  if (run.killed) return { ok: false, output: `loading the config did not finish in ${TIMEOUT_MS} ms` }
  const line = run.output
    .split("\n")
    .reverse()
    .find((candidate) => candidate.startsWith(CHECK_CONFIG_MARK))
  if (!line)
    return {
      ok: false,
      output: `the config check did not report (exit ${run.code}):\n${clip(run.output.trim(), 4000)}`,
    }
  const result = JSON.parse(line.slice(CHECK_CONFIG_MARK.length)) as CheckConfigResult
  if (!result.ok) return { ok: false, output: `the new config does not load:\n${result.issues.join("\n")}\n(${file})` }
  const problems = weakened(config, result.config)
  if (problems.length)
    return {
      ok: false,
      output: `the new config weakens guarded settings, which a transaction may not do (edit the config by hand for that; docs/self-evolution.md):\n${problems.join("\n")}`,
    }
  return { ok: true, output: `${file}: loads with the schema; no guarded setting weakened` }
}
