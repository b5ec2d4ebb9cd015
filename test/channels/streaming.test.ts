import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, telegramConfig, waitEvent } from "./helpers.ts"

const line = (index: number, width: number) =>
  `line ${String(index).padStart(2, "0")} ${"lorem ipsum dolor sit amet ".repeat(width)}`.trimEnd()

test("a fast stream is edited at most once per second per chat; a 429 is retried after its retry_after", async () => {
  const fake = await FakeTelegram.start()
  const file = Array.from({ length: 30 }, (_, index) => line(index + 1, 4)).join("\n")
  await using ws = await workspace({
    config: telegramConfig(fake, {}, { delayMs: 4 }),
    files: { "notes.md": `${file}\n` },
  })
  await using gw = await spawnGateway(ws.path)
  await fake.waitFor(() => fake.callsOf("getUpdates").length > 0, 10_000, "polling")
  fake.rateLimit("editMessageText", 1)
  fake.text(OWNER, "read notes.md")
  await waitEvent(ws, "session.turn.completed", () => true, 20_000)
  const final = await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.html?.includes("line 30")),
    10_000,
    "final answer",
  )
  const edits = fake.callsOf("editMessageText", OWNER)
  const gaps = edits.slice(1).map((edit, index) => edit.at - edits[index]!.at)
  console.log(`edits=${edits.length} gaps(ms)=${gaps.join(",")} statuses=${edits.map((edit) => edit.status).join(",")}`)
  expect(edits.length).toBeGreaterThanOrEqual(3)
  // ≤ 1 per second: the pacer counts from the completion of the previous call.
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000)
  // The rate-limited edit was retried no sooner than its retry_after, and then succeeded.
  const limited = edits.findIndex((edit) => edit.status === 429)
  expect(limited).toBeGreaterThanOrEqual(0)
  expect(edits[limited + 1]!.at - edits[limited]!.at).toBeGreaterThanOrEqual(1000)
  expect(edits[limited + 1]!.status).toBe("ok")
  // Tool activity is a compact line, never the tool's JSON arguments.
  expect(final.text).toContain("🔧 file.read ✓")
  expect(final.text).not.toContain('"path"')
  // Exactly one final answer: no duplicate message carries the last line.
  expect(fake.chat(OWNER).filter((message) => message.text.includes("line 30")).length).toBe(1)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("a 10,000-character answer arrives split, complete and in order", async () => {
  const fake = await FakeTelegram.start()
  const lines = Array.from({ length: 39 }, (_, index) => line(index + 1, 10))
  await using ws = await workspace({ config: telegramConfig(fake), files: { "big.md": `${lines.join("\n")}\n` } })
  expect(lines.join("\n").length).toBeGreaterThan(10_000)
  await using gw = await spawnGateway(ws.path)
  fake.text(OWNER, "read big.md")
  await fake.waitFor(() => fake.chat(OWNER).find((message) => message.text.includes("line 39")), 20_000, "last piece")
  const messages = fake.chat(OWNER)
  expect(messages.length).toBeGreaterThanOrEqual(3)
  for (const message of messages) {
    expect(message.text.length).toBeLessThanOrEqual(4096)
    expect(message.html).not.toBeNull()
  }
  const all = messages.map((message) => message.text).join("\n")
  let at = -1
  for (const [index, text] of lines.entries()) {
    const found = all.indexOf(text)
    expect(found).toBeGreaterThan(at)
    expect(all.indexOf(text, found + 1)).toBe(-1)
    at = found
    if (index === 0) expect(found).toBeGreaterThan(0)
  }
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)
