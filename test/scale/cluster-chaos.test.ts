/**
 * Scale-out chaos (issue 22 item 4): three gateways on one store behind a round-robin proxy, the scenario
 * of chaos.ts, one node killed with SIGKILL every 2.5-4.5 s. On a real PostgreSQL (Debian's server,
 * started by test/lib/postgres.ts) for DROST_SCALE_CHAOS_SECONDS (default 25), and on one SQLite file
 * shared by the three for a shorter run (the mode that found the overlapping turns). Every property is
 * checked and every violation listed at once. Seeded (DROST_SCALE_CHAOS_SEED) so a failing run can be
 * replayed with `bun test/scale/chaos.ts --seed N [--postgres]`; `--seconds 60` is the minute by hand.
 */
import { describe, expect, test } from "bun:test"
import { seedFrom } from "../reliability/chaos.ts"
import { postgresPerFile, postgresSkip } from "../lib/postgres.ts"
import { type ChaosReport, clusterChaos } from "./chaos.ts"

const SECONDS = Number(process.env.DROST_SCALE_CHAOS_SECONDS ?? 25)
const SQLITE_SECONDS = Math.max(5, Math.round(SECONDS / 2))
const SEED = seedFrom("DROST_SCALE_CHAOS_SEED", 20261202)

function held(report: ChaosReport, seconds: number) {
  const { violations, ...figures } = report
  console.info(`cluster chaos: ${JSON.stringify(figures)}`)
  expect(violations).toEqual([])
  // The run did what it claims: nodes died under load and each served requests.
  expect(report.kills).toBeGreaterThanOrEqual(Math.floor(seconds / 5))
  expect(report.acknowledged).toBeGreaterThan(50)
  expect(report.interrupted).toBeGreaterThan(0)
  expect(report.served.every((count) => count > 0)).toBe(true)
  expect(report.telegram.stored).toBe(report.telegram.sent)
}

describe.skipIf(postgresSkip() !== null)("on PostgreSQL", () => {
  const pg = postgresPerFile()
  test(`three gateways on one PostgreSQL database, kill -9 one every few seconds for ${SECONDS} s: nothing acknowledged lost, no answer twice, no session running two turns at once, every Telegram message once (seed ${SEED})`, async () => {
    const report = await clusterChaos({ seconds: SECONDS, seed: SEED, storeUrl: await pg.server.database() })
    held(report, SECONDS)
  }, 180_000)
})

test(`three gateways on one SQLite file, the same for ${SQLITE_SECONDS} s (seed ${SEED})`, async () => {
  held(await clusterChaos({ seconds: SQLITE_SECONDS, seed: SEED }), SQLITE_SECONDS)
}, 180_000)
