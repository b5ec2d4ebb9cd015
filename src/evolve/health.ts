/**
 * The supervisor's half of the health gate (cli/supervisor.ts runs it; this holds what it does with a
 * failure). A change that passed the gates but whose start failed — the config no longer loads, the
 * new code crashes or hangs, the gateway came up on another workspace — is restored to its checkpoint
 * with the supervisor's own (old, trusted) code and recorded in the audit as rolled back with the
 * start's error, before any gateway runs again. Everything comes from the journal, which the trusted
 * gateway wrote before the restart: the changed config is never needed (it may not load at all).
 */
import { join } from "node:path"
import { createAudit } from "./audit.ts"
import { createRepo } from "./git.ts"
import { type Journal as JournalEntry, Journal, recordOf } from "./journal.ts"

export interface StartFailure {
  journal: JournalEntry
  /** Where the journal was found (the trusted state folder). */
  stateDir: string
  /** The workspace, for journals that do not name it. */
  workspace: string
  /** Why the start failed: the gateway's own error when it printed one. */
  problem: string
  verdictAt: number
  durationMs: number
  rollback: boolean
}

/** Restore the checkpoint (when `rollback`), record the outcome, and mark the journal as recorded. */
export async function rollbackAfterStart(input: StartFailure): Promise<{ restored: boolean; detail: string }> {
  const { journal, problem } = input
  const stateDir = journal.stateDir ?? input.stateDir
  const workspace = journal.workspace ?? input.workspace
  let restored = false
  let detail = "left in place (evolution.rollbackOnFailure is false)"
  const started = performance.now()
  if (input.rollback) {
    const repo = createRepo({ dir: workspace, gitdir: join(stateDir, "evolution.git"), roots: journal.roots })
    await repo.restore(journal.before, new Set(journal.folders))
    const commit = await repo.commit(`evolve: rollback ${journal.id} (the start after it failed)\n\n${problem}`)
    const left = commit ? await repo.diff(journal.before, commit) : []
    restored = left.length === 0
    detail = restored
      ? `the supervisor restored ${journal.before.slice(0, 10)} and restarted`
      : `still different from the checkpoint: ${left.map((file) => file.path).join(", ")}`
  }
  const audit = createAudit(stateDir)
  const record = recordOf(journal, audit.get(journal.id), "restarting")
  record.restart = { ...(record.restart ?? { needed: true }), verdictAt: input.verdictAt }
  record.steps.push(
    { name: "health", ok: false, output: problem, durationMs: input.durationMs, at: input.verdictAt },
    {
      name: "rollback",
      ok: restored,
      output: detail,
      durationMs: Math.round(performance.now() - started),
      at: Date.now(),
    },
  )
  record.status = input.rollback ? "rolled_back" : "failed"
  record.verdict = `evolution ${journal.id} ${input.rollback ? "rolled back" : "failed"}: the gateway did not start healthy on it (${problem.split("\n")[0]})`
  record.endedAt = Date.now()
  audit.save(record)
  Journal.write(stateDir, {
    ...journal,
    health: {
      ok: false,
      detail: problem,
      verdictAt: input.verdictAt,
      rolledBack: restored,
      durationMs: input.durationMs,
      recorded: true,
    },
  })
  return { restored, detail }
}
