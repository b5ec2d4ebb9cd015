/**
 * Replies owed across a crash (src/channels/telegram/owed.ts), on one real gateway with the fake Bot
 * API: a message whose turn a kill -9 interrupted is answered after the restart with the notice that the
 * gateway restarted, and a reply computed (turn stored completed) but not sent before the kill is sent
 * after the restart, once, and never again on later restarts.
 */
import { expect, test } from "bun:test"
import { RESTART_NOTICE } from "../../src/channels/telegram/owed.ts"
import { type FakeTelegram, FakeTelegram as Fake } from "../fake/telegram.ts"
import { type RunningGateway, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, telegramConfig } from "./helpers.ts"

/** Final answers (rendered: html) quoting `text`. */
const answers = (fake: FakeTelegram, text: string) =>
  fake.chat(OWNER).filter((message) => message.html !== null && message.text.includes(`You said: "${text}"`))
const notices = (fake: FakeTelegram) => fake.chat(OWNER).filter((message) => message.text === RESTART_NOTICE)
/** The sendMessage calls attached (reply_parameters) to the message `messageId`. */
const attachedTo = (fake: FakeTelegram, messageId: number) =>
  fake
    .callsOf("sendMessage", OWNER)
    .filter((call) => (call.params.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId)

async function turnsOf(gw: RunningGateway): Promise<{ status: string }[]> {
  const list = (await (await gw.api("/sessions?channel=telegram")).json()) as { sessions: { id: string }[] }
  if (!list.sessions[0]) return []
  const body = (await (await gw.api(`/sessions/${list.sessions[0].id}?limit=50`)).json()) as {
    turns: { status: string }[]
  }
  return body.turns
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

test("kill -9 while a turn runs, restart: the message is answered with the restart notice, once", async () => {
  const fake = await Fake.start()
  // 500 ms a word: the turn runs for seconds.
  await using ws = await workspace({ config: telegramConfig(fake, {}, { delayMs: 500 }) })
  const id = fake.text(OWNER, "slow one")
  {
    await using gw = await spawnGateway(ws.path)
    await fake.waitFor(() => fake.callsOf("sendChatAction", OWNER).length > 0, 15_000, "the turn to start")
    expect((await turnsOf(gw)).map((turn) => turn.status)).toEqual(["running"])
    await gw.kill9()
  }
  expect(notices(fake)).toHaveLength(0)
  {
    await using gw = await spawnGateway(ws.path)
    await fake.waitFor(() => notices(fake).length > 0, 15_000, "the restart notice")
    // Attached to the message it is about; its turn stored interrupted, never answered.
    expect(attachedTo(fake, id).map((call) => call.params.text)).toEqual([RESTART_NOTICE])
    expect((await turnsOf(gw)).map((turn) => turn.status)).toEqual(["interrupted"])
    expect(answers(fake, "slow one")).toHaveLength(0)
    // Settled: later sweeps (every 2 s) say nothing more.
    await Bun.sleep(4500)
    expect(notices(fake)).toHaveLength(1)
    expect(await gw.stop()).toBe(0)
  }
  fake.stop()
}, 60_000)

test("kill -9 after the turn completed but before its reply was sent, restart: the stored answer is sent once", async () => {
  const fake = await Fake.start()
  await using ws = await workspace({ config: telegramConfig(fake, {}, { delayMs: 5 }) })
  fake.text(OWNER, "first")
  {
    await using gw = await spawnGateway(ws.path)
    await fake.waitFor(() => answers(fake, "first").length === 1, 15_000, "the first answer")
    // The chat's next send hangs (Telegram unreachable for this request): the turn completes in the store
    // and its reply never leaves the gateway before the kill.
    fake.fail("sendMessage", { hang: true }, 1)
    const id = fake.text(OWNER, "second")
    await until(async () => (await turnsOf(gw)).filter((turn) => turn.status === "completed").length === 2, "turn 2")
    await fake.waitFor(() => fake.callsOf("sendMessage", OWNER).some((call) => call.status === 0), 10_000, "the hang")
    expect(answers(fake, "second")).toHaveLength(0)
    await gw.kill9()
    {
      await using again = await spawnGateway(ws.path)
      await fake.waitFor(() => answers(fake, "second").length > 0, 15_000, "the stored answer")
      // The stored answer, attached to its question; the first answer is not sent again.
      expect(attachedTo(fake, id)).toHaveLength(1)
      expect(answers(fake, "first")).toHaveLength(1)
      await Bun.sleep(4500)
      expect(answers(fake, "second")).toHaveLength(1)
      expect(notices(fake)).toHaveLength(0)
      expect(await again.stop()).toBe(0)
    }
  }
  // A clean restart owes nothing: still one answer each.
  {
    await using gw = await spawnGateway(ws.path)
    fake.text(OWNER, "third")
    await fake.waitFor(() => answers(fake, "third").length === 1, 15_000, "the third answer")
    await Bun.sleep(2500)
    expect(answers(fake, "first")).toHaveLength(1)
    expect(answers(fake, "second")).toHaveLength(1)
    expect(answers(fake, "third")).toHaveLength(1)
    expect(notices(fake)).toHaveLength(0)
    expect(await gw.stop()).toBe(0)
  }
  fake.stop()
}, 90_000)

test("kill -9 after the turn completed while its answer was streaming, restart: the answer is edited into that message", async () => {
  const fake = await Fake.start()
  // 100 ms a word: the answer streams for seconds, its first preview posted after about one.
  await using ws = await workspace({ config: telegramConfig(fake, {}, { delayMs: 100 }) })
  const id = fake.text(OWNER, "streamed")
  {
    await using gw = await spawnGateway(ws.path)
    await fake.waitFor(() => fake.callsOf("sendMessage", OWNER).length > 0, 15_000, "the first preview")
    // The next edit hangs: the turn completes in the store, its answer stays a partial preview.
    fake.fail("editMessageText", { hang: true }, 1)
    await until(async () => (await turnsOf(gw)).some((turn) => turn.status === "completed"), "the turn", 20_000)
    await fake.waitFor(() => fake.callsOf("editMessageText", OWNER).some((call) => call.status === 0), 10_000, "hang")
    expect(answers(fake, "streamed")).toHaveLength(0)
    await gw.kill9()
  }
  const preview = fake.chat(OWNER)
  expect(preview).toHaveLength(1)
  {
    await using gw = await spawnGateway(ws.path)
    await fake.waitFor(() => answers(fake, "streamed").length > 0, 15_000, "the answer edited in")
    // The preview became the answer: no second message, nothing attached to the question.
    expect(fake.chat(OWNER)).toHaveLength(1)
    expect(answers(fake, "streamed")[0]!.messageId).toBe(preview[0]!.messageId)
    expect(attachedTo(fake, id)).toHaveLength(0)
    await Bun.sleep(2500)
    expect(fake.chat(OWNER)).toHaveLength(1)
    expect(await gw.stop()).toBe(0)
  }
  fake.stop()
}, 60_000)
