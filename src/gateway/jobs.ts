/**
 * Wires background work into the gateway: the job service over the store contract (`gw.data`: its jobs
 * and sessions, on SQLite or PostgreSQL), its tools, the shell tool's `background: true`, and delivery of
 * job notes to the parent session's chat (Telegram through the deliveries; a note whose channel is not up
 * yet goes out when the channel registers).
 */
import { join } from "node:path"
import type { Bus } from "../bus/bus.ts"
import type { Config } from "../core/config.ts"
import { JOBS_DEFAULTS } from "../core/jobs-config.ts"
import { createJobs, type Jobs } from "../agent/jobs.ts"
import type { Sessions } from "../agent/session.ts"
import type { Store } from "../store/engine/contract.ts"
import { jobTools } from "../tool/builtin/jobs.ts"
import type { Toolset } from "../tool/toolset.ts"
import { Log } from "../util/log.ts"
import type { Deliveries } from "./delivery.ts"

export function createJobService(input: {
  config: Config
  /** The gateway's store: every job it starts records the store's `owner` (this gateway's id). */
  data: Store
  bus: Bus
  sessions: () => Sessions
  toolset: Toolset
  deliveries: Deliveries
}): Jobs {
  const { config, deliveries } = input
  const jobs = createJobs({
    jobs: input.data.jobs,
    store: input.data.sessions,
    sessions: input.sessions,
    bus: input.bus,
    limits: () => ({ ...JOBS_DEFAULTS, ...config.jobs }),
    async deliver(session, text) {
      const target = deliveries.locate(session)
      if (!target || !deliveries.names().includes(target.channel)) return false
      await deliveries.deliver(target.channel, target.chat, text)
      return true
    },
    outputDir: join(config.stateDir, "jobs"),
    log: Log.create("jobs"),
  })
  for (const tool of jobTools(() => jobs)) input.toolset.registry.register(tool)
  input.toolset.setBackground(jobs.shell)
  deliveries.onRegister(() => void jobs.flush())
  return jobs
}
