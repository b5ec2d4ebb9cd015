/**
 * A turn whose execution throws still ends, and the lane goes on (issue 14: an error below the turn's
 * own handling left its request waiting forever and stopped the session's lane).
 */
import { expect, test } from "bun:test"
import { createLanes, DEFAULT_POLICY, type LaneResult } from "../../src/agent/lanes.ts"
import type { Turn } from "../../src/store/sessions.ts"

const turn = (id: string): Turn => ({
  id,
  sessionId: "ses_lane",
  status: "queued",
  source: "api",
  provider: null,
  error: null,
  usage: null,
  steps: 0,
  toolCalls: 0,
  createdAt: Date.now(),
  startedAt: null,
  endedAt: null,
})

test("an execution that throws ends its turn failed with the cause, and the turns behind it still run", async () => {
  const ran: string[] = []
  const lanes = createLanes({
    async execute(next): Promise<LaneResult> {
      ran.push(next.id)
      await Bun.sleep(5)
      if (next.id === "trn_1") throw new Error("database is locked")
      return { turnId: next.id, sessionId: next.sessionId, status: "completed", reason: null, text: "ok" }
    },
    running: () => null,
    stopping: () => false,
  })
  const first = lanes.add(turn("trn_1"), DEFAULT_POLICY)
  const second = lanes.add(turn("trn_2"), DEFAULT_POLICY)
  const timeout = Bun.sleep(2_000).then(() => "hung" as const)
  expect(await Promise.race([first.done, timeout])).toEqual({
    turnId: "trn_1",
    sessionId: "ses_lane",
    status: "failed",
    reason: "database is locked",
    text: "",
  })
  expect(await Promise.race([second.done, timeout])).toMatchObject({ turnId: "trn_2", status: "completed" })
  expect(ran).toEqual(["trn_1", "trn_2"])
  expect(lanes.snapshot()).toEqual([])
})
