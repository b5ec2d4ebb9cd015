/**
 * Channel faults from the runtime audit (issue 14): a Bot API that answers getUpdates at once, and
 * strangers who try to use up the pairing codes. Each runs the real gateway against the fake Bot API.
 */
import { expect, test } from "bun:test"
import { open } from "../../src/store/db.ts"
import { createTelegramStore, MAX_PENDING, MAX_PER_USER, PAIRING_TTL_MS } from "../../src/store/telegram.ts"
import { FakeTelegram } from "../fake/telegram.ts"
import { demoConfig } from "../lib/config.ts"
import { ENTRY, spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, telegramConfig, waitEvent } from "../channels/helpers.ts"

/** getUpdates calls the fake saw during the next `ms` (a measuring window, not a wait for an event). */
async function pollsDuring(fake: FakeTelegram, ms: number): Promise<number> {
  const before = fake.callsOf("getUpdates").length
  await Bun.sleep(ms)
  return fake.callsOf("getUpdates").length - before
}

test("a Bot API that answers getUpdates at once is polled at most a few times a second, and errors back off", async () => {
  const fake = await FakeTelegram.start()
  fake.instant = true
  await using ws = await workspace({ config: telegramConfig(fake, { pollTimeoutSec: 30 }) })
  await using gw = await spawnGateway(ws.path)
  await fake.waitFor(() => fake.callsOf("getUpdates").length >= 2, 10_000, "polling")
  // 1,273–3,557 a second in the audit (telegram-test-api); the pause after an empty answer allows 2.
  const idle = await pollsDuring(fake, 1000)
  console.log(`idle polls in 1 s against an instant Bot API: ${idle}`)
  expect(idle).toBeLessThanOrEqual(4)
  expect(idle).toBeGreaterThanOrEqual(1)

  // Messages still arrive promptly and are answered exactly once (the fake confirms by offset).
  fake.text(OWNER, "still there?")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.includes('"still there?"')),
    10_000,
    "answer",
  )

  // Fast failures back off: 250 ms, 500 ms, 1 s, ... so a second holds only a few attempts.
  fake.fail("getUpdates", { raw: 502 }, 100)
  await fake.waitFor(() => fake.callsOf("getUpdates").some((call) => call.status === 502), 5000, "a failure")
  const failing = await pollsDuring(fake, 1000)
  console.log(`polls in 1 s while getUpdates fails at once: ${failing}`)
  expect(failing).toBeLessThanOrEqual(4)
  expect(fake.chat(OWNER).filter((message) => message.text.includes('"still there?"')).length).toBe(1)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 30_000)

const codeOf = (fake: FakeTelegram, user: number) =>
  fake
    .chat(user)
    .map((message) => message.text.match(/approve ([A-Z0-9]{8})/)?.[1])
    .find(Boolean)

test("50 strangers do not use up the pairing codes: the 51st gets one and the oldest gives way", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, { pairing: true }) })
  await using gw = await spawnGateway(ws.path)
  const strangers = Array.from({ length: MAX_PENDING }, (_, index) => 9000 + index)
  for (const user of strangers) fake.text(user, "let me in")
  await fake.waitFor(() => strangers.every((user) => codeOf(fake, user)), 20_000, "50 codes")
  const first = codeOf(fake, strangers[0]!)!

  // On 30143f8 the 51st got nothing for up to an hour.
  const friend = 7777
  fake.text(friend, "hi, it's me")
  await fake.waitFor(() => codeOf(fake, friend), 10_000, "a code for the 51st user")
  const offer = fake.chat(friend)[0]!.text
  expect(offer).toContain(`expires in ${PAIRING_TTL_MS / 60_000} minutes`)
  const listed = (await (await gw.api("/telegram/pairings")).json()) as { pairings: { code: string }[] }
  expect(listed.pairings.length).toBe(MAX_PENDING)
  expect(listed.pairings.some((pairing) => pairing.code === first)).toBe(false)
  expect((await gw.api(`/telegram/pairings/${first}/approve`, { method: "POST" })).status).toBe(404)
  expect((await gw.api(`/telegram/pairings/${codeOf(fake, friend)}/approve`, { method: "POST" })).status).toBe(200)
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("pairing codes: one open per user, a few per user an hour, unapproved ones expire", () => {
  const db = open(":memory:")
  const store = createTelegramStore(db)
  const ask = (userId: number) => store.pairingFor({ botId: "1", userId, chatId: userId, name: `u${userId}` })
  const mine = ask(1)!
  expect(mine.created).toBe(true)
  expect(mine.pairing.expiresAt - mine.pairing.createdAt).toBe(PAIRING_TTL_MS)
  // Asking again while the code is open gives the same code.
  expect(ask(1)).toMatchObject({ created: false, pairing: { code: mine.pairing.code } })
  // User 1 is pushed out by newer strangers and asks again: at most MAX_PER_USER codes in the hour.
  let next = 100
  const issued = [mine.pairing.code]
  for (;;) {
    for (let index = 0; index < MAX_PENDING; index++) ask(next++)
    const again = ask(1)
    if (!again) break
    expect(again.created).toBe(true)
    issued.push(again.pairing.code)
  }
  expect(issued.length).toBe(MAX_PER_USER)
  expect(new Set(issued).size).toBe(MAX_PER_USER)
  for (const code of issued) expect(store.approve(code)).toBeNull()
  // Everyone else still gets codes.
  expect(ask(next++)?.created).toBe(true)
  const open_ = store.list().filter((pairing) => pairing.approvedAt === null)
  expect(open_.length).toBe(MAX_PENDING)
  db.close()
})

/** A demo provider that says one word a second: a turn that runs for minutes unless stopped. */
const RUNAWAY = { delayMs: 1000 }

test("from the phone: commands answer while a turn runs, and /stop ends the runaway turn", async () => {
  const fake = await FakeTelegram.start()
  await using ws = await workspace({ config: telegramConfig(fake, {}, RUNAWAY) })
  await using gw = await spawnGateway(ws.path)
  fake.text(OWNER, "tell me everything")
  await waitEvent(ws, "session.turn.started")
  // On 30143f8 both commands waited behind the turn (minutes).
  fake.text(OWNER, "/status")
  const status = await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.startsWith("state:")),
    10_000,
    "/status during the turn",
  )
  expect(status.text).toContain("running turns: 1")
  fake.text(OWNER, "/stop")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text === "stopped the running turn"),
    10_000,
    "/stop answered",
  )
  const failed = await waitEvent(ws, "session.turn.failed")
  expect(String(failed.data.reason)).toStartWith("aborted by user (/stop in telegram)")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.endsWith("⏹ Stopped.")),
    10_000,
    "the stopped answer",
  )
  fake.text(OWNER, "/stop")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text === "no turn is running"),
    10_000,
    "/stop with nothing running",
  )
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("orchestration interrupt reaches Telegram: a newer message stops the running turn and runs next", async () => {
  const fake = await FakeTelegram.start()
  const config = telegramConfig(fake, {}, RUNAWAY, { orchestration: { channels: { telegram: { mode: "interrupt" } } } })
  await using ws = await workspace({ config })
  await using gw = await spawnGateway(ws.path)
  fake.text(OWNER, "first question")
  const first = await waitEvent(ws, "session.turn.started")
  fake.text(OWNER, "no wait, second question")
  const interrupted = await waitEvent(ws, "session.turn.interrupted")
  expect(interrupted.data.turnId).toBe(first.data.turnId)
  expect(String(interrupted.data.reason)).toStartWith("interrupted: a newer message arrived")
  await waitEvent(ws, "session.turn.started", (data) => data.turnId !== first.data.turnId)
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text.endsWith("⏹ Stopped: a newer message arrived.")),
    10_000,
    "the interrupted answer",
  )
  fake.text(OWNER, "/stop")
  await fake.waitFor(
    () => fake.chat(OWNER).find((message) => message.text === "stopped the running turn"),
    10_000,
    "/stop",
  )
  expect(await gw.stop()).toBe(0)
  fake.stop()
}, 40_000)

test("the terminal chat: /stop during a turn answers at once and aborts it", async () => {
  await using ws = await workspace({ config: demoConfig({}, RUNAWAY) })
  let screen = ""
  const decoder = new TextDecoder()
  const proc = Bun.spawn([process.execPath, ENTRY, "start"], {
    cwd: ws.path,
    env: { ...process.env, NO_COLOR: "1", TERM: "xterm" },
    terminal: { cols: 160, rows: 50, data: (_term, data) => (screen += decoder.decode(data)) },
  })
  const see = async (text: string, ms = 10_000) => {
    const deadline = Date.now() + ms
    while (!screen.includes(text)) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`did not see ${text} on screen:\n${screen}`)
      await Bun.sleep(20) // polling another process's screen: there is no event to wait on
    }
  }
  try {
    await see("you ›")
    proc.terminal!.write("tell me everything\r")
    await see("drost ›")
    proc.terminal!.write("/stop\r")
    // On 30143f8 the line waited behind the turn (a minute of words).
    await see("stopped the running turn")
    await see("[turn failed: aborted by user (/stop in terminal)]")
    proc.terminal!.write("/quit\r")
    expect(await proc.exited).toBe(0)
  } finally {
    proc.kill("SIGKILL")
  }
}, 30_000)
