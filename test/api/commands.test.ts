/**
 * POST /control/v1/commands: the chat's slash commands over the Control API (what `drost chat` uses),
 * with the session they leave current, and its refusals.
 */
import { expect, test } from "bun:test"
import { inProcess } from "./inprocess.ts"

interface Result {
  text: string
  listing: boolean
  quit: boolean
  sessionId: string | null
}

test("runs a command for a session and returns its text, whether it is a listing and the current session", async () => {
  await using api = await inProcess({ controlApi: { port: 0, readToken: "read-token-0123456789abcdef" } })
  const run = (body: unknown, token?: string) =>
    api.fetch("/control/v1/commands", {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
  const first = (await api.gw.sessions.create({ channel: "terminal", title: "one" })).id

  const providers = (await (await run({ line: "/providers", sessionId: first })).json()) as Result
  expect(providers).toEqual({ text: expect.stringMatching(/^\* demo /), listing: true, quit: false, sessionId: first })

  // /new leaves another session current, on the channel the command came from.
  const fresh = (await (await run({ line: "/new fresh", sessionId: first, channel: "terminal" })).json()) as Result
  expect(fresh.text).toStartWith("new session ")
  expect(fresh.listing).toBe(false)
  expect(fresh.sessionId).not.toBe(first)
  expect((await api.gw.data.sessions.get(fresh.sessionId!))?.channel).toBe("terminal")
  const back = (await (await run({ line: `/session ${first}`, sessionId: fresh.sessionId })).json()) as Result
  expect(back.sessionId).toBe(first)

  // The width fits listings to a terminal; /abort is /stop; /quit asks the client to leave.
  const narrow = (await (await run({ line: "/tools", width: 60 })).json()) as Result
  for (const line of narrow.text.split("\n")) expect([line, line.length <= 60]).toEqual([line, true])
  expect(((await (await run({ line: "/abort", sessionId: first })).json()) as Result).text).toBe("no turn is running")
  expect(((await (await run({ line: "/quit" })).json()) as Result).quit).toBe(true)

  const notCommand = await run({ line: "hello" })
  expect(notCommand.status).toBe(400)
  expect(((await notCommand.json()) as { error: string }).error).toBe("NotACommand")
  expect((await run({ line: "/status", sessionId: "ses_nope" })).status).toBe(404)
  expect((await run({ line: "/status", width: 5 })).status).toBe(400)
  // Commands change things (providers, tools, restarts): the read token may not run them.
  expect((await run({ line: "/status" }, "read-token-0123456789abcdef")).status).toBe(403)
})
