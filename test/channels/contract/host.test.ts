/**
 * The shared blocks a channel on the contract is built from (src/channels/host.ts and what it
 * assembles), driven against a real in-process gateway on the demo provider through a loopback
 * ReplySurface and ApprovalSurface that record what a platform would have received. The Telegram,
 * Discord and Slack suites test the blocks through their platforms' fakes; this one shows that the
 * blocks alone keep the contract: inbox done with the user message, previews within the message
 * length and paced, commands outside the lane, /stop, /new, pairing, and approvals decided only by an
 * allowed user of the owning conversation.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { TurnEvent } from "../../../src/agent/events.ts"
import { ApprovalEvent } from "../../../src/approval/events.ts"
import { createApprovalRelay } from "../../../src/channels/approvals.ts"
import type { Decided, Pending, RenderedChunk, ReplySurface } from "../../../src/channels/contract.ts"
import { registerChannelDelivery } from "../../../src/channels/deliver.ts"
import { createChannelHost } from "../../../src/channels/host.ts"
import { type InProcess, inProcess } from "../../api/inprocess.ts"

const LIMIT = 60
const GAP = 250

interface Write {
  kind: "post" | "edit"
  id: string
  text: string
  formatted: boolean
  at: number
}

/** A platform that keeps every write and enforces the message length like a real one (it refuses longer). */
function loopback(edits = true) {
  const writes: Write[] = []
  let next = 1
  const check = (text: string) => {
    if (text.length > LIMIT) throw new Error(`message too long (${text.length} > ${LIMIT})`)
  }
  const surface: ReplySurface = {
    limits: { messageChars: LIMIT, editIntervalMs: GAP, format: "plain", edits },
    async post(chunk, { formatted }) {
      const text = formatted ? chunk.formatted : chunk.plain
      check(text)
      const id = String(next++)
      writes.push({ kind: "post", id, text, formatted, at: Date.now() })
      return { id }
    },
    async edit(message, chunk, { formatted }) {
      const text = formatted ? chunk.formatted : chunk.plain
      check(text)
      writes.push({ kind: "edit", id: message.id, text, formatted, at: Date.now() })
    },
    render(items, note) {
      const text = [
        ...items.map((item) => (item.kind === "text" ? item.text.trim() : `🔧 ${item.name}`)),
        ...(note ? [note] : []),
      ]
        .filter(Boolean)
        .join("\n")
      const chunks: RenderedChunk[] = []
      for (let at = 0; at < text.length; at += LIMIT) {
        const piece = text.slice(at, at + LIMIT)
        chunks.push({ formatted: piece, plain: piece })
      }
      return chunks
    },
    classify: () => "other",
  }
  /** The conversation as it reads now: each message's latest text. */
  const shown = () => {
    const messages = new Map<string, string>()
    for (const write of writes) messages.set(write.id, write.text)
    return [...messages.values()]
  }
  return { surface, writes, shown }
}

let app: InProcess
beforeAll(async () => {
  app = await inProcess({
    providers: { profiles: [{ id: "demo", kind: "demo", delayMs: 40 }] },
    tools: { approve: ["file.read"] },
  })
  writeFileSync(join(app.ws.path, "hello.txt"), "hi from a file\n")
})
afterAll(async () => {
  await app[Symbol.asyncDispose]()
})

const host = () => createChannelHost(app.gw, { kind: "loop", component: "loop", config: {}, editIntervalMs: GAP })

test("a message: inbox done with the user message, a streamed answer within the length, paced", async () => {
  const channel = host()
  const { surface, writes, shown } = loopback()
  const inbox = channel.inbox("loop:1")
  expect(await inbox.receive("e1", { text: "hello there" })).toBe(true)
  const sessionId = await channel.sessionFor("1:c1", "Loop: c1")
  expect(await channel.sessionFor("1:c1", "Loop: c1")).toBe(sessionId)
  const answered = await channel.lane("1:c1", () =>
    channel.stream({
      surface,
      conversation: "1:c1",
      sessionId,
      submit: () => channel.accept(inbox, ["e1"], { sessionId, text: "hello there" }),
    }),
  )
  expect(answered?.text).toContain('You said: "hello there"')
  // At most once: the event is done, and its redelivery is refused.
  expect(await inbox.pending()).toEqual([])
  expect(await inbox.receive("e1", { text: "hello there" })).toBe(false)
  // Streamed (edits before the final answer), every write within the platform's length.
  expect(writes.filter((write) => write.kind === "edit").length).toBeGreaterThan(0)
  for (const write of writes) expect(write.text.length).toBeLessThanOrEqual(LIMIT)
  // Paced: the shared pacer spaces writes of one conversation by the interval after the previous one completed.
  for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(GAP - 5)
  // The final answer is the whole answer, split into messages.
  expect(shown().join("")).toContain('You said: "hello there"')
  const session = (await app.gw.data.sessions.get(sessionId))!
  expect([session.channel, session.channelKey, session.title]).toEqual(["loop", "1:c1", "Loop: c1"])
}, 30_000)

test("a platform without edits gets no previews: only the final answer's messages", async () => {
  const channel = host()
  const { surface, writes, shown } = loopback(false)
  const inbox = channel.inbox("loop:1")
  await inbox.receive("e5", {})
  const sessionId = await channel.sessionFor("1:c5", "Loop: c5")
  const answered = await channel.stream({
    surface,
    conversation: "1:c5",
    sessionId,
    submit: () => channel.accept(inbox, ["e5"], { sessionId, text: "no edits please" }),
  })
  expect(answered?.text).toContain('You said: "no edits please"')
  expect(writes.every((write) => write.kind === "post" && write.formatted)).toBe(true)
  expect(shown().join("")).toBe(
    surface
      .render([{ kind: "text", text: answered!.text }])
      .map((chunk) => chunk.plain)
      .join(""),
  )
}, 30_000)

test("commands answer while the turn runs, outside the lane; /stop stops it; /new remaps the conversation", async () => {
  const channel = host()
  const { surface, shown } = loopback()
  const inbox = channel.inbox("loop:1")
  await inbox.receive("e2", {})
  const sessionId = await channel.sessionFor("1:c2", "Loop: c2")
  const started = new Promise<void>((resolve) => {
    const stop = app.gw.bus.subscribe(TurnEvent.Started, (event) => {
      if ((event.data as { sessionId: string }).sessionId !== sessionId) return
      stop()
      resolve()
    })
  })
  const reply = channel.lane("1:c2", () =>
    channel.stream({
      surface,
      conversation: "1:c2",
      sessionId,
      submit: () => channel.accept(inbox, ["e2"], { sessionId, text: "tell me a long story" }),
    }),
  )
  await started
  // The lane is busy with the turn; the command does not wait for it.
  const status = await channel.commandIn("1:c2", "/status")
  expect(status?.text).toContain("running turns: 1")
  expect((await channel.commandIn("1:c2", "/stop"))?.text).toBe("stopped the running turn")
  expect(await reply).toBeNull()
  expect(shown().join("\n")).toContain("⏹ Stopped.")
  expect(await channel.commandIn("1:c2", "not a command")).toBeNull()
  expect(channel.commandMenu().map((entry) => entry.name)).toContain("stop")
  expect(channel.commandMenu().map((entry) => entry.name)).not.toContain("quit")
  // /new gives the conversation a fresh session.
  await channel.commandIn("1:c2", "/new")
  const fresh = await channel.currentSession("1:c2")
  expect(fresh).not.toBeNull()
  expect(fresh).not.toBe(sessionId)
  expect(channel.laneMode()).toBe("queue")
}, 30_000)

test("pairing: one open code per user; approvals: only an allowed user of the owning conversation decides", async () => {
  const channel = host()
  const pairing = channel.pairing("loop:1")
  const code = (await pairing.request({ userId: "u9", conversation: "1:d9", name: "Nine" }))!
  expect(code.created).toBe(true)
  expect((await pairing.request({ userId: "u9", conversation: "1:d9", name: "Nine" }))!.code).toBe(code.code)
  expect(await pairing.approved("u9")).toBe(false)

  const shownRequests: { conversation: string; pending: Pending }[] = []
  const settled: Decided[] = []
  const relay = createApprovalRelay<string>({
    gw: app.gw,
    kind: "loop",
    log: channel.log as never,
    conversationOf: (key) => (key.startsWith("1:") ? key : null),
    allowed: async (userId) => userId === "owner",
    surface: {
      async show(conversation, pending) {
        shownRequests.push({ conversation, pending })
        return pending.id
      },
      async settle(_ref, decided) {
        settled.push(decided)
      },
    },
  })
  relay.start()
  try {
    const { surface, shown } = loopback()
    const inbox = channel.inbox("loop:1")
    await inbox.receive("e3", {})
    const sessionId = await channel.sessionFor("1:c3", "Loop: c3")
    const requested = new Promise<void>((resolve) => {
      const stop = app.gw.bus.subscribe(ApprovalEvent.Requested, () => {
        stop()
        resolve()
      })
    })
    const reply = channel.stream({
      surface,
      conversation: "1:c3",
      sessionId,
      submit: () => channel.accept(inbox, ["e3"], { sessionId, text: "read hello.txt" }),
    })
    await requested
    for (let i = 0; i < 100 && shownRequests.length === 0; i++) await Bun.sleep(20)
    const [request] = shownRequests
    expect(request?.conversation).toBe("1:c3")
    const press = { approvalId: request!.pending.id, choice: "approve" as const, label: "test" }
    // A stranger, and the owner from another conversation: refused, nothing decided.
    expect((await relay.press({ ...press, userId: "stranger", conversation: "1:c3" })).refused).toBe(true)
    expect((await relay.press({ ...press, userId: "owner", conversation: "1:other" })).refused).toBe(true)
    expect(app.gw.approvals.get(request!.pending.id)).not.toBeNull()
    const answer = await relay.press({ ...press, userId: "owner", conversation: "1:c3" })
    expect(answer).toEqual({ decided: true, refused: false, text: "Approved" })
    await reply
    expect(shown().join("")).toContain("hi from a file")
    for (let i = 0; i < 100 && settled.length === 0; i++) await Bun.sleep(20)
    expect(settled[0]).toMatchObject({ id: request!.pending.id, approved: true, by: "loop:owner" })
    expect((await relay.press({ ...press, userId: "owner", conversation: "1:c3" })).text).toBe(
      "This approval is no longer waiting.",
    )
  } finally {
    relay.stop()
  }
}, 30_000)

test("delivery: a session's conversation is located for schedules and background results; long text is split", async () => {
  const posted: { conversation: string; text: string }[] = []
  registerChannelDelivery(app.gw, {
    component: "loop",
    kind: "loop",
    conversationOf: (key) => (key.startsWith("1:") ? key : null),
    limit: LIMIT,
    post: async (conversation, text) => void posted.push({ conversation, text }),
  })
  const channel = host()
  const sessionId = await channel.sessionFor("1:c4", "Loop: c4")
  const target = app.gw.continuity.deliveries.locate((await app.gw.data.sessions.get(sessionId))!)
  expect(target).toEqual({ channel: "loop", chat: "1:c4" })
  // Another instance's conversation is not this one's.
  expect(app.gw.continuity.deliveries.locate({ channel: "loop", channelKey: "2:c4" })).toBeNull()
  const text = `${"a".repeat(LIMIT - 5)}\n${"b".repeat(LIMIT)}\nend`
  await app.gw.continuity.deliveries.deliver(target!.channel, target!.chat, text)
  expect(posted.map((entry) => entry.conversation)).toEqual(["1:c4", "1:c4", "1:c4"])
  for (const entry of posted) expect(entry.text.length).toBeLessThanOrEqual(LIMIT)
  expect(posted.map((entry) => entry.text).join("\n")).toBe(text)
})
