/**
 * /control/v1/schedules over real HTTP (issue 17 item 2): make, read, change, pause and remove
 * schedules; cron names (MON-FRI, JAN), nicknames (@daily) and time zones that src/core/cron.ts used to
 * reject; the 400s name the wrong field; the config's schedules are listed but read-only (409); a
 * schedule made here runs at its time and its turn is visible through the API; `/schedules` (the chat
 * command) pauses and resumes one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { ContinuityEvent } from "../../src/agent/continuity-events.ts"
import { type InProcess, inProcess } from "./inprocess.ts"

interface State {
  id: string
  source: string
  state: string
  cron: string | null
  at: string | null
  timeZone: string | null
  next: number | null
  lastStatus: string | null
  sessionId: string | null
}

let api: InProcess

beforeAll(async () => {
  api = await inProcess({
    controlApi: { port: 0, readToken: "read-token-0123456789abcdef" },
    timeZone: "Asia/Tokyo",
    schedules: [{ id: "nightly", cron: "0 3 * * *", prompt: "tidy up" }],
  })
  await api.gw.continuity.schedules.start()
})

afterAll(async () => {
  await api?.[Symbol.asyncDispose]()
})

const send = async (method: string, path: string, body?: unknown, token?: string) => {
  const response = await api.fetch(`/control/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  // biome-ignore lint/suspicious/noExplicitAny: the tests pick the fields they check
  return { status: response.status, body: (await response.json()) as any }
}

const inZone = (time: number, zone: string) =>
  new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    weekday: "short",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(time))

test("make: cron with names in the owner's zone, nicknames, a one-time local time in a zone of its own", async () => {
  const weekdays = await send("POST", "/schedules", { prompt: "good morning", cron: "30 7 * * MON-FRI" })
  expect(weekdays.status).toBe(201)
  expect(weekdays.body).toMatchObject({ source: "api", state: "active", cron: "30 7 * * MON-FRI", timeZone: null })
  expect(inZone(weekdays.body.next, "Asia/Tokyo")).toMatch(/^(Mon|Tue|Wed|Thu|Fri), \w+ \d+, 07:30$/)

  const january = await send("POST", "/schedules", { prompt: "new year", cron: "0 0 1 JAN *", timeZone: "UTC" })
  expect(new Date(january.body.next).toISOString()).toMatch(/^\d{4}-01-01T00:00:00\.000Z$/)
  const daily = await send("POST", "/schedules", { prompt: "daily", cron: "@daily" })
  expect(inZone(daily.body.next, "Asia/Tokyo")).toMatch(/, 00:00$/)

  // A wall-clock time in the schedule's own zone, in winter (UTC+1) and in summer (UTC+2).
  const winter = await send("POST", "/schedules", { prompt: "w", at: "2031-01-15T09:00", timeZone: "Europe/Berlin" })
  expect(new Date(winter.body.next).toISOString()).toBe("2031-01-15T08:00:00.000Z")
  const summer = await send("POST", "/schedules", { prompt: "s", at: "2031-07-15T09:00", timeZone: "Europe/Berlin" })
  expect(new Date(summer.body.next).toISOString()).toBe("2031-07-15T07:00:00.000Z")
  // Without a zone of its own: the owner's (Asia/Tokyo, UTC+9).
  const owner = await send("POST", "/schedules", { prompt: "o", at: "2031-01-15T09:00" })
  expect(new Date(owner.body.next).toISOString()).toBe("2031-01-15T00:00:00.000Z")

  const listed = (await send("GET", "/schedules")).body as { schedules: State[]; deliveries: string[] }
  expect(listed.schedules.map((schedule) => schedule.source)).toEqual([
    "config",
    "api",
    "api",
    "api",
    "api",
    "api",
    "api",
  ])
  for (const made of [weekdays, january, daily, winter, summer, owner])
    expect((await send("DELETE", `/schedules/${made.body.id}`)).status).toBe(200)
})

test("bad input: 400 with the field, unknown ids 404, the config's schedules 409, tokens 401/403", async () => {
  const field = async (body: unknown) => {
    const answer = await send("POST", "/schedules", body)
    expect([answer.status, answer.body.error]).toEqual([400, "Invalid"])
    return (answer.body.fields as { path: string }[]).map((entry) => entry.path)
  }
  expect(await field({ prompt: "x", cron: "30 7 * * WEEKDAYS" })).toEqual(["cron"])
  expect(await field({ prompt: "x", cron: "61 * * * *" })).toEqual(["cron"])
  expect(await field({ prompt: "x", at: "tomorrow at 9" })).toEqual(["at"])
  expect(await field({ prompt: "x", at: "2020-01-15T09:00" })).toEqual(["at"]) // passed
  expect(await field({ prompt: "x", at: "2031-01-15T09:00", timeZone: "Mars/Olympus" })).toEqual(["timeZone"])
  expect(await field({ prompt: "x", in: "10m", every: "1h" })).toEqual(["body"])
  expect(await field({ prompt: "x" })).toEqual(["body"])
  expect(await field({ prompt: "x", in: "soon" })).toEqual(["in"])
  expect(await field({ prompt: "x", in: "1m", session: "ses_nope" })).toEqual(["session"])
  expect(await field({ prompt: "x", in: "1m", deliver: { channel: "telegram", chat: 1 } })).toEqual(["deliver.channel"])
  expect((await field({ cron: "@daily" })).length).toBe(1) // no prompt: the schema says so

  expect((await send("GET", "/schedules/sch_none")).status).toBe(404)
  expect((await send("PATCH", "/schedules/sch_none", { enabled: false })).status).toBe(404)
  expect((await send("DELETE", "/schedules/sch_none")).status).toBe(404)
  const config = await send("PATCH", "/schedules/nightly", { enabled: false })
  expect([config.status, config.body.error]).toEqual([409, "Conflict"])
  expect(config.body.message).toContain("config file")
  expect((await send("DELETE", "/schedules/nightly")).status).toBe(409)
  expect((await send("GET", "/schedules/nightly")).body).toMatchObject({ source: "config", cron: "0 3 * * *" })

  const read = await send("POST", "/schedules", { prompt: "x", in: "1m" }, "read-token-0123456789abcdef")
  expect(read.status).toBe(403)
  const anonymous = await fetch(`${api.url}/control/v1/schedules`)
  expect(anonymous.status).toBe(401)
  expect((await send("GET", "/schedules", undefined, "read-token-0123456789abcdef")).status).toBe(200)
})

test("change: pause and resume (also with /schedules), a new time replaces the old one", async () => {
  const made = (await send("POST", "/schedules", { prompt: "p", every: "1h" })).body as State
  const paused = await send("PATCH", `/schedules/${made.id}`, { enabled: false })
  expect(paused.body).toMatchObject({ state: "paused", next: null })
  const resumed = await send("POST", "/commands", { line: `/schedules resume ${made.id}` })
  expect(resumed.body.text).toBe(`resumed ${made.id}`)
  expect((await send("GET", `/schedules/${made.id}`)).body).toMatchObject({ state: "active" })
  expect((await send("POST", "/commands", { line: `/schedules pause ${made.id}` })).body.text).toBe(`paused ${made.id}`)
  expect((await send("POST", "/commands", { line: "/schedules" })).body.text).toContain(
    `${made.id} [api] every 1h; paused`,
  )

  const moved = await send("PATCH", `/schedules/${made.id}`, { cron: "0 12 * * SAT", enabled: true })
  expect(moved.body).toMatchObject({ cron: "0 12 * * SAT", every: null, state: "active", prompt: "p" })
  expect(inZone(moved.body.next, "Asia/Tokyo")).toMatch(/^Sat, \w+ \d+, 12:00$/)
  expect((await send("PATCH", `/schedules/${made.id}`, { cron: "0 12 * * SAT", every: "1h" })).status).toBe(400)
  expect((await send("POST", "/commands", { line: `/schedules cancel ${made.id}` })).body.text).toBe(
    `cancelled ${made.id}`,
  )
  expect((await send("GET", `/schedules/${made.id}`)).status).toBe(404)
})

test("a schedule made through the API runs at its time; its turn and status are visible through the API", async () => {
  const ran = new Promise<{ scheduleId: string; status: string; sessionId: string }>((resolve) => {
    const off = api.gw.bus.subscribe(ContinuityEvent.ScheduleRun, (event) => {
      off()
      resolve(event.data)
    })
  })
  const made = (await send("POST", "/schedules", { prompt: "list files", in: "1s" })).body as State
  const run = await ran
  expect(run).toMatchObject({ scheduleId: made.id, status: "completed" })
  const state = (await send("GET", `/schedules/${made.id}`)).body as State
  expect(state).toMatchObject({ state: "done", lastStatus: "completed", sessionId: run.sessionId })
  const session = (await send("GET", `/sessions/${run.sessionId}`)).body as {
    session: { channel: string }
    turns: { source: string; status: string }[]
  }
  expect(session.session.channel).toBe("schedule")
  expect(session.turns).toMatchObject([{ source: "schedule", status: "completed" }])
})
