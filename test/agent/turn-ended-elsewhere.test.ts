/**
 * A turn that a recovery ended while it ran (another gateway judged this one gone, its heartbeat late
 * under load, and interrupted its open turns) reports the end that is stored, not the one it would have
 * written: the chaos test on PostgreSQL found clients told `completed` about turns stored `interrupted`.
 */
import { expect, test } from "bun:test"
import { inProcess } from "../api/inprocess.ts"

test("a turn ended by a recovery while it ran reports the stored end, and its session stays consistent", async () => {
  // The demo provider streams its answer slowly enough for the recovery to land mid-turn.
  await using api = await inProcess({ providers: { profiles: [{ id: "demo", kind: "demo", delayMs: 40 }] } })
  const { gw } = api
  const session = await gw.sessions.create({ channel: "test" })
  const accepted = await gw.sessions.prompt({ sessionId: session.id, text: "tell me a long story" })
  // Wait until it runs, then end it as a peer's sweep would (its owner judged gone).
  for (let i = 0; i < 200 && (await gw.data.sessions.turn(accepted.turn.id))?.status !== "running"; i++)
    await Bun.sleep(5)
  const recovered = await gw.data.sessions.recoverInterrupted("interrupted: its gateway was judged gone", {
    owner: gw.id,
  })
  expect(recovered.map((turn) => turn.id)).toEqual([accepted.turn.id])
  const result = await accepted.done
  expect(result.status).toBe("interrupted")
  expect(result.reason).toBe("interrupted: its gateway was judged gone")
  const stored = await gw.data.sessions.turn(accepted.turn.id)
  expect(stored?.status).toBe("interrupted")
  // The next turn of the session runs normally.
  const next = await (await gw.sessions.prompt({ sessionId: session.id, text: "again" })).done
  expect(next.status).toBe("completed")
})
