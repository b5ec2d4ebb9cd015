/**
 * Approvals from Telegram buttons, against the strict fake Bot API: the approval message carries an
 * inline keyboard (validated like Telegram's), a press is a real `callback_query` update, every press
 * is answered with answerCallbackQuery, and the decision replaces the keyboard through
 * editMessageReplyMarkup. The model is the demo provider, which calls `file.read` when asked to read
 * a file; `tools.approve: ["file.read"]` makes that call wait.
 */
import { describe, expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { OWNER, telegramConfig } from "../channels/helpers.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { approvalEvents, journal } from "./lib.ts"

const STRANGER = 777
const GROUP = -100

const files = { "hello.txt": "hi from a file\n" }
// The fastest pacing the config allows: each chat here sees several sends and edits in a row.
const approving = (fake: FakeTelegram, channel: Record<string, unknown> = {}) =>
  telegramConfig(fake, { editIntervalMs: 250, ...channel }, {}, { tools: { approve: ["file.read"] } })

/** The bot's message in `chatId` that shows approval buttons. */
const approvalMessage = (fake: FakeTelegram, chatId: number) =>
  fake.waitFor(
    () =>
      fake
        .chat(chatId)
        .find((message) => message.markup?.inline_keyboard.flat().some((b) => b.callback_data?.startsWith("apr:"))),
    10_000,
    "the approval message",
  )
const data = (
  message: { markup: { inline_keyboard: { text: string; callback_data?: string }[][] } | null },
  label: string,
) => message.markup!.inline_keyboard.flat().find((button) => button.text.includes(label))!.callback_data!

describe("approvals from Telegram buttons", () => {
  test("group: buttons shown; a stranger's press is refused with an alert; the owner's press approves and the keyboard shows it", async () => {
    const fake = await FakeTelegram.start()
    try {
      await using ws = await workspace({
        config: approving(fake, { groups: { enabled: true, allowed: [GROUP] } }),
        files,
      })
      await using gw = await spawnGateway(ws.path)
      const events = approvalEvents(gw)
      const mention = "@drost_test_bot"
      fake.text(
        OWNER,
        `${mention} read hello.txt`,
        { id: GROUP, title: "team" },
        {
          entities: [{ type: "mention", offset: 0, length: mention.length }],
        },
      )
      const message = await approvalMessage(fake, GROUP)
      expect(message.text).toContain("Approval needed")
      expect(message.text).toContain("file.read")
      expect(message.text).toContain("hello.txt")
      expect(message.markup!.inline_keyboard.flat().map((button) => button.text)).toEqual([
        "✅ Approve",
        "❌ Deny",
        "✅ Allow for this session",
      ])
      const requested = await events.next("approval.requested")

      // A member of the group who is not an allowed user: answered with an alert, nothing decided.
      fake.press(STRANGER, GROUP, message.messageId, data(message, "Approve"))
      const refusal = await fake.waitFor(() => fake.answers[0], 10_000, "the answer to the stranger")
      expect(refusal).toMatchObject({ showAlert: true })
      expect(refusal.text).toContain("Only an allowed user")
      expect(((await (await gw.api("/approvals")).json()) as { approvals: unknown[] }).approvals).toHaveLength(1)
      expect(fake.callsOf("editMessageReplyMarkup")).toHaveLength(0)

      // The owner presses Approve: the call runs, the turn answers with the file.
      fake.press(OWNER, GROUP, message.messageId, data(message, "Approve"))
      expect(await events.next("approval.decided", (event) => event.id === requested.id)).toMatchObject({
        approved: true,
        decision: "approve",
        by: `telegram:${OWNER}`,
      })
      await fake.waitFor(
        () => fake.chat(GROUP).some((sent) => sent.text.includes("hi from a file")),
        10_000,
        "the answer",
      )
      const answer = await fake.waitFor(() => fake.answers[1], 10_000, "the answer to the owner")
      expect(answer).toMatchObject({ text: "Approved", showAlert: false })
      const edit = await fake.waitFor(
        () => fake.callsOf("editMessageReplyMarkup", GROUP).find((call) => call.status === "ok"),
        10_000,
        "editMessageReplyMarkup",
      )
      expect(edit.params.message_id).toBe(message.messageId)
      expect(
        fake
          .find(GROUP, message.messageId)!
          .markup!.inline_keyboard.flat()
          .map((button) => button.text),
      ).toEqual(["✅ Approved"])
      // Every Bot API call the channel made was accepted by the strict fake.
      expect(fake.calls.filter((call) => call.status !== "ok" && call.method !== "getUpdates")).toEqual([])
      expect(journal(ws).map((line) => [line.type, line.by ?? null])).toEqual([
        ["requested", null],
        ["decided", `telegram:${OWNER}`],
      ])

      // Pressing the decided button again changes nothing and is still answered.
      fake.press(
        OWNER,
        GROUP,
        message.messageId,
        fake.find(GROUP, message.messageId)!.markup!.inline_keyboard[0]![0]!.callback_data!,
      )
      expect((await fake.waitFor(() => fake.answers[2], 10_000, "the third answer")).text).toContain(
        "no longer waiting",
      )
      events.close()
    } finally {
      fake.stop()
    }
  }, 30_000)

  test("private chat: Deny tells the model a person refused; a decision over the API also updates the keyboard", async () => {
    const fake = await FakeTelegram.start()
    try {
      await using ws = await workspace({ config: approving(fake), files })
      await using gw = await spawnGateway(ws.path)
      const events = approvalEvents(gw)

      fake.text(OWNER, "read hello.txt")
      const first = await approvalMessage(fake, OWNER)
      fake.press(OWNER, OWNER, first.messageId, data(first, "Deny"))
      await fake.waitFor(
        () => fake.chat(OWNER).some((sent) => sent.text.includes("denied by a person")),
        10_000,
        "the model's answer about the denial",
      )
      expect(await fake.waitFor(() => fake.answers[0], 10_000, "answer")).toMatchObject({ text: "Denied" })
      await fake.waitFor(
        () => fake.find(OWNER, first.messageId)!.markup?.inline_keyboard[0]?.[0]?.text === "❌ Denied",
        10_000,
        "the denied keyboard",
      )

      fake.text(OWNER, "read hello.txt")
      const second = await fake.waitFor(
        () =>
          fake
            .chat(OWNER)
            .find((message) => message.messageId !== first.messageId && message.markup?.inline_keyboard.length === 2),
        10_000,
        "the second approval message",
      )
      const listed = (await (await gw.api("/approvals")).json()) as { approvals: { id: string }[] }
      expect(listed.approvals).toHaveLength(1)
      const id = listed.approvals[0]!.id
      expect(await events.next("approval.requested", (event) => event.id === id)).toMatchObject({ tool: "file.read" })
      await gw.api(`/approvals/${id}`, { method: "POST", json: { decision: "approve" } })
      await fake.waitFor(() => fake.chat(OWNER).some((sent) => sent.text.includes("hi from a file")), 10_000, "answer")
      await fake.waitFor(
        () => fake.find(OWNER, second.messageId)!.markup?.inline_keyboard[0]?.[0]?.text === "✅ Approved (control-api)",
        10_000,
        "the keyboard after the API decision",
      )
      expect(fake.calls.filter((call) => call.status !== "ok" && call.method !== "getUpdates")).toEqual([])
      events.close()
    } finally {
      fake.stop()
    }
  }, 30_000)
})
