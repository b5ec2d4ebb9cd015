/**
 * The history view's building blocks on hand-made histories: reading order across turns, where a cut
 * may fall, the summary merge, and shrinking tool outputs without breaking call/result pairs.
 */
import { expect, test } from "bun:test"
import { cutIndex, fallbackSummary, fit, view, viewTokens } from "../../src/agent/compact.ts"
import { ordered } from "../../src/agent/order.ts"
import type { Message, Part } from "../../src/core/message.ts"

let seq = 0
const msg = (turnId: string | null, role: Message["role"], parts: Part[]): Message => ({
  id: `m${++seq}`,
  seq,
  sessionId: "s",
  turnId,
  role,
  parts,
  provider: null,
  usage: null,
  createdAt: seq,
})
const text = (value: string): Part => ({ type: "text", text: value })
const call = (id: string): Part => ({ type: "tool-call", id, name: "file.read", args: { path: "a" } })
const result = (id: string, output = "ok"): Part => ({
  type: "tool-result",
  callId: id,
  name: "file.read",
  output,
  isError: false,
})

/** Every call has exactly one result right after its assistant message, and every result a call. */
function pairsValid(chat: { role: string; parts: Part[] }[]): boolean {
  for (let i = 0; i < chat.length; i++) {
    const calls = chat[i]!.parts.filter((part) => part.type === "tool-call").map((part) => (part as { id: string }).id)
    const results = chat[i]!.parts.filter((part) => part.type === "tool-result").map(
      (part) => (part as { callId: string }).callId,
    )
    if (
      results.length &&
      !(chat[i - 1]?.parts ?? []).some((part) => part.type === "tool-call" && results.includes(part.id))
    )
      return false
    if (calls.length) {
      const next = chat[i + 1]
      const answered = (next?.parts ?? [])
        .filter((part) => part.type === "tool-result")
        .map((part) => (part as { callId: string }).callId)
      if (next?.role !== "tool" || calls.some((id) => !answered.includes(id))) return false
    }
  }
  return true
}

test("reading order: a message sent during a turn comes after that turn's answer; later turns stay out of a running turn's view", () => {
  seq = 0
  const a = msg("A", "user", [text("question A")])
  const b = msg("B", "user", [text("question B, sent while A ran")])
  const c = msg("C", "user", [text("question C, waiting")])
  const a1 = msg("A", "assistant", [text("answer A")])
  const all = [a, b, c, a1]
  expect(ordered(all).map((m) => m.id)).toEqual([a.id, a1.id, b.id, c.id])
  expect(ordered(all, { turnId: "B" }).map((m) => m.id)).toEqual([a.id, a1.id, b.id])
  expect(ordered(all, { turnId: "B", merged: ["C"] }).map((m) => m.id)).toEqual([a.id, a1.id, b.id, c.id])
})

test("cuts fall only before user (or assistant) messages, never before a tool result, and keep pairs valid", () => {
  seq = 0
  const big = "x".repeat(4_000)
  const history = [
    msg("1", "user", [text("one")]),
    msg("1", "assistant", [call("c1")]),
    msg("1", "tool", [result("c1", big)]),
    msg("1", "assistant", [text("done one")]),
    msg("2", "user", [text("two")]),
    msg("2", "assistant", [call("c2"), call("c3")]),
    msg("2", "tool", [result("c2", big), result("c3", big)]),
    msg("2", "assistant", [text("done two")]),
  ]
  for (let keep = 0; keep <= 5_000; keep += 250) {
    const cut = cutIndex(history, keep)
    if (cut === null) continue
    expect(history[cut]!.role).not.toBe("tool")
    const chat = view(history, { uptoSeq: history[cut - 1]!.seq, text: "summary" })
    expect(pairsValid(chat)).toBe(true)
    expect(chat[0]!.role).toBe("user")
  }
  // With room for the second turn only, the cut is right before it.
  expect(cutIndex(history, 2_100)).toBe(4)
  // A turn larger than the room: the cut moves inside it, before an assistant message.
  expect(history[cutIndex(history, 100)!]!.role).toBe("assistant")
})

test("the summary is merged into the first kept user message; fit shrinks old tool outputs but keeps every pair", () => {
  seq = 0
  const history = [
    msg("1", "user", [text("one")]),
    msg("1", "assistant", [call("c1")]),
    msg("1", "tool", [result("c1", "y".repeat(20_000))]),
    msg("1", "assistant", [text("done")]),
  ]
  const chat = view(history, { uptoSeq: 0, text: "carried over" })
  expect(chat.length).toBe(4)
  expect(chat[0]!.parts.map((part) => (part as { text: string }).text)).toEqual([
    expect.stringContaining("carried over"),
    "one",
  ])
  const small = fit(chat, 1_000)
  expect(viewTokens(small)).toBeLessThanOrEqual(1_000)
  expect(pairsValid(small)).toBe(true)
  expect((small[2]!.parts[0] as { output: string }).output).toContain("the stored result is complete")
  // The input is not modified (the store's copy stays whole).
  expect((chat[2]!.parts[0] as { output: string }).output.length).toBe(20_000)
  // An unanswered call (a crash mid-tool) gets a synthetic result rather than being dropped.
  const crashed = view([msg("2", "user", [text("go")]), msg("2", "assistant", [call("c9")])], null)
  expect(pairsValid(crashed)).toBe(true)
  expect(fallbackSummary(null, history)).toContain("Objective (first request): one")
})
