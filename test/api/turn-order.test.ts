/**
 * Turns of one session sent back to back through the Control API, none awaited before the next is sent:
 * each is stored before its request is answered, and they run one at a time in the order their
 * messages were stored (the order the gateway accepted them), never overlapping.
 */
import { expect, test } from "bun:test"
import { demoConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { readSse } from "../lib/sse.ts"
import { workspace } from "../lib/workspace.ts"

interface Message {
  id: string
  seq: number
  role: string
  turnId: string | null
}

test("turns sent back to back run one at a time in the order they were accepted", async () => {
  await using ws = await workspace({ config: demoConfig({}, { delayMs: 5 }) })
  await using gw = await spawnGateway(ws.path)
  const count = 8
  const { id } = (await (await gw.api("/sessions", { method: "POST", json: {} })).json()) as { id: string }
  /** `start <turn>` and `end <turn>` in the order the events came. */
  const seen: string[] = []
  let allEnded!: () => void
  const ends = new Promise<void>((resolve) => {
    allEnded = resolve
  })
  const events = await gw.api(`/events?session=${id}&type=session.turn.*`, { headers: { accept: "text/event-stream" } })
  const reading = (async () => {
    for await (const event of readSse(events)) {
      const data = event.data as { turnId?: string; data?: { turnId?: string } }
      const turnId = data.turnId ?? data.data?.turnId
      if (!turnId) continue
      if (event.event === "session.turn.started") seen.push(`start ${turnId}`)
      if (event.event === "session.turn.completed" || event.event === "session.turn.failed") seen.push(`end ${turnId}`)
      if (seen.filter((line) => line.startsWith("end")).length === count) allEnded()
    }
  })().catch(() => {})

  const sent = Array.from({ length: count }, (_, index) =>
    gw.api(`/sessions/${id}/turn`, { method: "POST", json: { input: `message ${index}` } }),
  )
  const answers = (await Promise.all(
    (
      await Promise.all(sent)
    ).map(async (response) => {
      expect(response.status).toBe(200)
      return response.json()
    }),
  )) as { turnId: string; messageId: string; status: string }[]
  expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => "completed"))
  await ends

  const detail = (await (await gw.api(`/sessions/${id}?limit=100`)).json()) as { messages: Message[] }
  const users = detail.messages.filter((message) => message.role === "user").sort((a, b) => a.seq - b.seq)
  expect(users).toHaveLength(count)
  // Each answer names its own stored message; the turns ran in the order of those messages, one at a time
  // (each ended before the next started).
  expect(new Set(answers.map((answer) => answer.messageId))).toEqual(new Set(users.map((message) => message.id)))
  expect(seen).toEqual(users.flatMap((message) => [`start ${message.turnId}`, `end ${message.turnId}`]))
  void reading
}, 30_000)
