/**
 * Reminders the agent sets itself, through the real gateway (issue 17 item 2): a fake model calls
 * schedule.create from a Telegram chat, the schedule is stored, at its time a turn runs in that chat's
 * session and its answer reaches the same chat in the fake Telegram; a restart does not run it again;
 * /schedules lists it in the chat. Waiting on the clock is the behaviour here, so the times are seconds.
 */
import { expect, test } from "bun:test"
import { FakeTelegram } from "../fake/telegram.ts"
import { fakeOpenAI, reply } from "../fake/openai.ts"
import { FAKE_KEY_ENV, fakeConfig } from "../lib/config.ts"
import { spawnGateway } from "../lib/gateway.ts"
import { workspace } from "../lib/workspace.ts"
import { OWNER, waitEvent } from "../channels/helpers.ts"

interface State {
  id: string
  source: string
  state: string
  at: string | null
  prompt: string
  deliver: { channel: string; chat: number } | null
  next: number | null
  lastDue: number | null
  lastStatus: string | null
  sessionId: string | null
}

test("the model sets a reminder in a Telegram chat; at its time the answer comes back to that chat, once", async () => {
  const tg = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: fakeConfig(llm.baseUrl, {
      timeZone: "Europe/Berlin",
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
    }),
  })
  let reminder: State
  {
    await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
    llm.queue(
      reply().tool("schedule_create", { prompt: "Remind the user to stretch", in: "3s" }),
      reply().text("Okay, I will remind you in 3 seconds."),
      reply().text("Time to stretch!"),
    )
    tg.text(OWNER, "remind me in 3 seconds to stretch")
    await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.includes("I will remind you")), 10_000, "the answer")
    // The tool's description told the model the owner's zone; its result named the schedule.
    const offered = (llm.hits[0]!.body.tools as { function: { name: string; description: string } }[]).find(
      (tool) => tool.function.name === "schedule_create",
    )!
    expect(offered.function.description).toContain("Europe/Berlin")
    const stored = ((await (await gw.api("/schedules")).json()) as { schedules: State[] }).schedules
    expect(stored.length).toBe(1)
    reminder = stored[0]!
    expect(reminder).toMatchObject({ source: "agent", state: "active", prompt: "Remind the user to stretch" })
    expect(reminder.deliver).toEqual({ channel: "telegram", chat: OWNER })
    // It runs in the chat's session (the one the Telegram chat maps to).
    const sessions = (await (await gw.api("/sessions?channel=telegram")).json()) as { sessions: { id: string }[] }
    expect(reminder.sessionId).toBe(sessions.sessions[0]!.id)

    await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text === "Time to stretch!"), 15_000, "the reminder")
    // The reminder's turn saw the conversation and was told it is a scheduled task, not the user.
    const messages = llm.hits[2]!.body.messages as { role: string; content: unknown }[]
    expect(JSON.stringify(messages)).toContain("remind me in 3 seconds to stretch")
    expect(JSON.stringify(messages.at(-1))).toContain(`[Scheduled task ${reminder.id}`)
    const run = await waitEvent(ws, "schedule.run", (data) => data.scheduleId === reminder.id)
    expect(run.data).toMatchObject({ status: "completed", delivered: true, sessionId: reminder.sessionId })
    const done = (await (await gw.api(`/schedules/${reminder.id}`)).json()) as State
    expect(done).toMatchObject({ state: "done", lastStatus: "completed", next: null })
    expect(done.lastDue).toBe(Date.parse(reminder.at!))

    tg.text(OWNER, "/schedules")
    await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text === "no schedules"), 10_000, "/schedules")
    expect(await gw.stop()).toBe(0)
  }
  {
    // After a restart the reminder that ran is still done: not planned, not run again.
    await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
    const again = (await (await gw.api(`/schedules/${reminder.id}`)).json()) as State
    expect(again).toMatchObject({ state: "done", next: null, lastStatus: "completed" })
    expect(await gw.stop()).toBe(0)
  }
  expect(tg.chat(OWNER).filter((m) => m.text === "Time to stretch!").length).toBe(1)
  expect(llm.hits.filter((hit) => !hit.path.endsWith("/models")).length).toBe(3)
  tg.stop()
}, 60_000)

test("recurring: a weekday cron from schedule.create is listed by /schedules in the chat, and cancelled by the model", async () => {
  const tg = await FakeTelegram.start()
  await using llm = await fakeOpenAI()
  await using ws = await workspace({
    config: fakeConfig(llm.baseUrl, {
      timeZone: "America/New_York",
      channels: [{ kind: "telegram", token: tg.token, apiRoot: tg.apiRoot, allowedUsers: [OWNER], pollTimeoutSec: 2 }],
    }),
  })
  await using gw = await spawnGateway(ws.path, { env: FAKE_KEY_ENV })
  llm.queue(
    reply().tool("schedule_create", { prompt: "Good morning summary", cron: "30 7 * * MON-FRI" }),
    reply().text("Set for every weekday at 7:30."),
  )
  tg.text(OWNER, "every weekday at 7:30 send me a summary")
  await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.includes("every weekday")), 10_000, "the answer")
  const result = (llm.hits[1]!.body.messages as { role: string; content: string }[]).find((m) => m.role === "tool")!
  expect(result.content).toContain("next ")
  expect(result.content).toContain("07:30")
  expect(result.content).toContain("(America/New_York)")
  const [made] = ((await (await gw.api("/schedules")).json()) as { schedules: State[] }).schedules
  // Next: a weekday, 07:30 in New York.
  const next = new Date(made!.next!)
  const local = new Intl.DateTimeFormat("en-US", {
    timeZone: "America/New_York",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(next)
  expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri),? 07:30$/)

  tg.text(OWNER, "/schedules")
  const listed = await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.includes(made!.id)), 10_000, "/schedules")
  expect(listed.text).toContain("* ") // made in this chat
  expect(listed.text).toContain('cron "30 7 * * MON-FRI"')

  llm.queue(reply().tool("schedule_cancel", { id: made!.id }), reply().text("Cancelled."))
  tg.text(OWNER, "stop the morning summary")
  await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.endsWith("Cancelled.")), 10_000, "the cancel answer")
  expect(((await (await gw.api("/schedules")).json()) as { schedules: State[] }).schedules).toEqual([])
  // A bad expression comes back to the model as a tool error it can act on.
  llm.queue(reply().tool("schedule_create", { prompt: "x", cron: "30 7 * * WEEKDAYS" }), reply().text("Sorry."))
  tg.text(OWNER, "try again")
  await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.endsWith("Sorry.")), 10_000, "the error answer")
  const error = (llm.hits.at(-1)!.body.messages as { role: string; content: string }[]).findLast(
    (m) => m.role === "tool",
  )!
  expect(error.content).toContain("cron")
  // Nor may the model make a turn repeat every few seconds.
  llm.queue(reply().tool("schedule_create", { prompt: "x", every: "5s" }), reply().text("Too often."))
  tg.text(OWNER, "every 5 seconds")
  await tg.waitFor(() => tg.chat(OWNER).find((m) => m.text.endsWith("Too often.")), 10_000, "the pace answer")
  const pace = (llm.hits.at(-1)!.body.messages as { role: string; content: string }[]).findLast(
    (m) => m.role === "tool",
  )!
  expect(pace.content).toContain("more often than once a minute")
  expect(((await (await gw.api("/schedules")).json()) as { schedules: State[] }).schedules).toEqual([])
  expect(await gw.stop()).toBe(0)
  tg.stop()
}, 60_000)
