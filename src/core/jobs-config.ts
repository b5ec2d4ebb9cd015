/**
 * The `jobs` config section: limits for background work (agent.spawn subagents and background shell
 * processes). A call over a limit is a tool error that names the key, never a silent queue.
 */
import { type Static, Type } from "./schema.ts"

export const Jobs = Type.Object(
  {
    maxPerSession: Type.Integer({
      minimum: 1,
      default: 3,
      description: "Background jobs (subagents and shell processes) one session may have running at once",
    }),
    maxTotal: Type.Integer({
      minimum: 1,
      default: 8,
      description: "Background jobs running at once across all sessions",
    }),
    agentTimeoutMs: Type.Integer({
      minimum: 1_000,
      default: 1_800_000,
      description:
        "A subagent's deadline (default 1800000: 30 minutes), and the most agent.spawn's deadlineMs may ask for",
    }),
    agentMaxToolCalls: Type.Integer({
      minimum: 1,
      default: 50,
      description: "A subagent's tool-call budget, and the most agent.spawn's maxToolCalls may ask for",
    }),
    shellTimeoutMs: Type.Integer({
      minimum: 1_000,
      default: 3_600_000,
      description: "A background shell process is killed after this long (default 3600000: one hour)",
    }),
    outputBytes: Type.Integer({
      minimum: 1_024,
      default: 10_000_000,
      description: "Bytes of a background shell process's output kept in its output file; the rest is counted",
    }),
  },
  { additionalProperties: false },
)

export type JobsConfig = Static<typeof Jobs>

/** The section with every default filled in (configs built by hand in tests may omit it). */
export const JOBS_DEFAULTS: JobsConfig = {
  maxPerSession: 3,
  maxTotal: 8,
  agentTimeoutMs: 1_800_000,
  agentMaxToolCalls: 50,
  shellTimeoutMs: 3_600_000,
  outputBytes: 10_000_000,
}
