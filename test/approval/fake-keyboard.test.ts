/**
 * The fake Bot API refuses what Telegram refuses around inline keyboards, so a channel bug shows up
 * as a failed call in the approval tests rather than passing against a lenient fake.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"

let fake: FakeTelegram
beforeAll(async () => {
  fake = await FakeTelegram.start()
})
afterAll(() => fake.stop())

const call = async (method: string, params: Record<string, unknown>) => {
  const response = await fetch(`${fake.apiRoot}/bot${fake.token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  })
  return (await response.json()) as { ok: boolean; description?: string; result?: Record<string, unknown> }
}
const keyboard = (...buttons: Record<string, unknown>[]) => ({ inline_keyboard: [buttons] })

test("reply_markup is checked like Telegram's: button text, exactly one action, callback_data of 1-64 bytes", async () => {
  const send = (markup: unknown) => call("sendMessage", { chat_id: 5, text: "pick", reply_markup: markup })
  expect((await send(keyboard({ text: "ok", callback_data: "x".repeat(65) }))).description).toBe(
    "Bad Request: BUTTON_DATA_INVALID",
  )
  expect((await send(keyboard({ text: "ok" }))).description).toContain("Text buttons are unallowed")
  expect((await send(keyboard({ text: "", callback_data: "a" }))).description).toBe("Bad Request: BUTTON_TEXT_INVALID")
  expect((await send({ inline_keyboard: [{ text: "a", callback_data: "a" }] })).description).toContain(
    "Array of Arrays",
  )
  expect((await send("{not json")).description).toContain("can't parse reply keyboard markup")
  const sent = await send(JSON.stringify(keyboard({ text: "ok", callback_data: "a" })))
  expect(sent.ok).toBe(true)
  expect(sent.result!.reply_markup).toEqual(keyboard({ text: "ok", callback_data: "a" }))
})

test("press delivers only shown buttons; each query is answered once; an unchanged keyboard is 'not modified'", async () => {
  const sent = await call("sendMessage", {
    chat_id: 6,
    text: "pick",
    reply_markup: keyboard({ text: "A", callback_data: "a" }),
  })
  const messageId = Number(sent.result!.message_id)
  expect(() => fake.press(6, 6, messageId, "b")).toThrow("shows no button with data b")
  fake.press(6, 6, messageId, "a")
  const updates = await call("getUpdates", { allowed_updates: ["callback_query"] })
  const query = (updates.result as unknown as { callback_query: { id: string; data: string } }[])[0]!.callback_query
  expect(query.data).toBe("a")
  expect((await call("answerCallbackQuery", { callback_query_id: query.id, text: "x".repeat(201) })).ok).toBe(false)
  expect((await call("answerCallbackQuery", { callback_query_id: query.id, text: "done" })).ok).toBe(true)
  expect((await call("answerCallbackQuery", { callback_query_id: query.id })).description).toContain(
    "query ID is invalid",
  )

  const edit = (markup: unknown) =>
    call("editMessageReplyMarkup", { chat_id: 6, message_id: messageId, reply_markup: markup })
  expect((await edit(keyboard({ text: "A", callback_data: "a" }))).description).toContain("message is not modified")
  expect((await edit(keyboard({ text: "chosen", callback_data: "z" }))).ok).toBe(true)
  expect(fake.find(6, messageId)!.markup as unknown).toEqual(keyboard({ text: "chosen", callback_data: "z" }))
  expect(
    (
      await call("editMessageReplyMarkup", {
        chat_id: 6,
        message_id: 999,
        reply_markup: keyboard({ text: "a", callback_data: "a" }),
      })
    ).description,
  ).toBe("Bad Request: message to edit not found")
})

test("updates of a type outside allowed_updates are never delivered", async () => {
  const sent = await call("sendMessage", {
    chat_id: 7,
    text: "pick",
    reply_markup: keyboard({ text: "A", callback_data: "a" }),
  })
  fake.press(7, 7, Number(sent.result!.message_id), "a")
  fake.text(7, "hello")
  const updates = await call("getUpdates", { allowed_updates: ["message"] })
  expect((updates.result as unknown as Record<string, unknown>[]).map((update) => Object.keys(update)[1])).toEqual([
    "message",
  ])
})
