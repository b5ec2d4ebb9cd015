/**
 * The web chat passes the channel contract suite. It is the dashboard's chat (docs/dashboard.md), part of
 * the gateway rather than a configured channel, so the "fake" here is the browser: the adapter makes the
 * HTTP calls the page makes (src/api/web/client/chat.js, approvals.js) instead of driving Chromium, to
 * keep the suite fast; the page itself is driven in Chromium by test/web/dashboard.test.ts. It parses the
 * turn's SSE with the page's own reader (client/api.js) and writes a failed turn's line with the page's
 * own function (client/outcome.js).
 *
 * The mapping (docs/channels.md, "The web chat and the contract"):
 * - owner: a client signed in by a one-time link (POST /control/v1/dashboard/links, redeemed once at
 *   /ui/redeem), which holds the admin token; stranger: a client without a valid token, refused 401 on
 *   every request (`strangerRefusal: "send"`), and the fake OpenAI counts 0 requests for it;
 * - a message: POST /sessions (first message) and POST /sessions/:id/turn with Accept: text/event-stream;
 *   the writes are the SSE deltas as they arrive; the page has no length or edit-rate limit;
 * - commands: POST /control/v1/commands with `channel: "web"` and the session, as the page sends a line
 *   that starts with "/", answered while a turn runs (test/web/web-chat.test.ts checks the page does);
 * - approvals: GET /approvals polled for the session, Approve = POST /approvals/:id (by `control-api`);
 * - sessions are Control API sessions (`channel: "api"`), pairing is not offered (the one-time link is
 *   the way in), no scheduled delivery targets the page;
 * - opted out, with the web chat's own cases below instead: the bad-token case (the web chat has no
 *   platform token: a bad token is one client's, 401 for it alone, the gateway stays healthy) and the
 *   kill -9 case (a browser is not a platform that redelivers: the message the gateway acknowledged is
 *   stored, its turn ends interrupted, and nothing runs twice).
 */
import { afterEach, expect, test } from "bun:test"
import { readSse } from "../../../src/api/web/client/api.js"
import { outcomeNote } from "../../../src/api/web/client/outcome.js"
import { demoConfig } from "../../lib/config.ts"
import { type RunningGateway, spawnGateway } from "../../lib/gateway.ts"
import { workspace } from "../../lib/workspace.ts"
import { waitEvent } from "../helpers.ts"
import { type ContractAdapter, type ContractFake, contractSuite, type Who } from "./suite.ts"

interface Bubble {
  text: string
}

/** A browser tab on the web chat: the owner's signed-in client, and a stranger's. */
class WebChat implements ContractFake {
  readonly limits = { messageChars: Number.POSITIVE_INFINITY, editIntervalMs: 0 }
  private gw: RunningGateway | null = null
  private ownerToken: string | null = null
  private session: string | null = null
  private readonly bubbles: Bubble[] = []
  private readonly deltas: { at: number; chars: number }[] = []
  private readonly shown = new Set<string>()
  private latestApproval: string | null = null
  private readonly streams = new Set<AbortController>()
  private poller: ReturnType<typeof setInterval> | null = null
  /** The turn requests in flight: the page sends the next message once the last one was accepted. */
  private accepted: Promise<void> = Promise.resolve()

  channel() {
    return null
  }

  async attach(gw: RunningGateway) {
    this.gw = gw
    // Signed in by a one-time link, as a browser opening it is.
    const link = (await (await gw.api("/dashboard/links", { method: "POST", json: {} })).json()) as { url: string }
    const code = link.url.split("#/login/")[1]!
    const redeem = (body: unknown) =>
      fetch(`${gw.url}/ui/redeem`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })
    const first = await redeem({ code })
    if (first.status !== 200) throw new Error(`redeeming the link: HTTP ${first.status}`)
    this.ownerToken = ((await first.json()) as { token: string }).token
    if ((await redeem({ code })).status !== 404) throw new Error("a one-time link worked twice")
    this.watchApprovals()
  }

  private request(path: string, token: string, init: { method?: string; json?: unknown; accept?: string } = {}) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: init.accept ?? "application/json",
    }
    if (init.json !== undefined) headers["content-type"] = "application/json"
    const signal = new AbortController()
    this.streams.add(signal)
    return fetch(`${this.gw!.url}/control/v1${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
      signal: signal.signal,
    }).finally(() => {
      if ((init.accept ?? "").includes("event-stream")) return
      this.streams.delete(signal)
    })
  }

  /** The page lists the approvals the session's turn waits for (approvals.js); here, each new one as a message. */
  private watchApprovals() {
    if (this.poller) clearInterval(this.poller)
    this.poller = setInterval(async () => {
      if (!this.session || !this.gw || !this.ownerToken) return
      try {
        const response = await this.request(`/approvals?session=${this.session}`, this.ownerToken)
        const { approvals } = (await response.json()) as { approvals: { id: string; tool: string }[] }
        for (const pending of approvals) {
          if (this.shown.has(pending.id)) continue
          this.shown.add(pending.id)
          this.latestApproval = pending.id
          this.bubbles.push({ text: `Approval needed: ${pending.tool}` })
        }
      } catch {
        // The gateway stopped or restarts: the page shows "reconnecting" and tries again.
      }
    }, 100)
  }

  async send(user: Who, text: string) {
    if (user === "stranger") return this.stranger(text)
    const token = this.ownerToken!
    if (text.startsWith("/")) {
      const response = await this.request("/commands", token, {
        method: "POST",
        json: { line: text, sessionId: this.session, channel: "web" },
      })
      const answer = (await response.json()) as { text: string; sessionId: string | null }
      this.bubbles.push({ text: answer.text })
      return
    }
    await this.accepted
    if (!this.session) {
      const created = await this.request("/sessions", token, { method: "POST", json: { title: text.slice(0, 60) } })
      this.session = ((await created.json()) as { id: string }).id
    }
    const response = await this.request(`/sessions/${this.session}/turn`, token, {
      method: "POST",
      json: { input: text },
      accept: "text/event-stream",
    })
    if (!response.ok) throw new Error(`turn refused: HTTP ${response.status}`)
    let acknowledged!: () => void
    this.accepted = new Promise((resolve) => (acknowledged = resolve))
    void this.read(response, acknowledged)
    await this.accepted
  }

  /** The turn's stream, as chat.js reads it: deltas grow one bubble; a turn that did not complete ends in one line. */
  private async read(response: Response, acknowledged: () => void) {
    const bubble: Bubble = { text: "" }
    try {
      for await (const frame of readSse(response)) {
        if (frame.event === "turn.accepted") {
          acknowledged()
          this.bubbles.push(bubble)
        } else if (frame.event === "session.turn.delta") {
          bubble.text += String(frame.data.text ?? "")
          this.deltas.push({ at: Date.now(), chars: bubble.text.length })
        } else if (frame.event === "turn.failed" || frame.event === "turn.interrupted") {
          const note = outcomeNote(frame.event.slice(5), frame.data)
          if (bubble.text) this.bubbles.push({ text: note })
          else bubble.text = note
        }
      }
    } catch {
      // The connection dropped (the gateway stopped or was killed).
    } finally {
      acknowledged()
    }
  }

  /** A client without a valid token: every call the page would make is refused, 401. */
  private async stranger(text: string) {
    const calls: [string, unknown][] = [
      ["/sessions", { title: text }],
      ["/commands", { line: "/status", channel: "web" }],
      ["/dashboard/links", {}],
    ]
    for (const [path, json] of calls) {
      const response = await this.request(path, "not-the-token", { method: "POST", json })
      if (response.status !== 401) throw new Error(`a stranger's POST ${path} answered ${response.status}, not 401`)
    }
    const redeem = await fetch(`${this.gw!.url}/ui/redeem`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: "guessed-code" }),
    })
    if (redeem.status !== 404) throw new Error(`a guessed sign-in code answered ${redeem.status}, not 404`)
  }

  messages(user: Who) {
    return user === "owner" ? this.bubbles.map((bubble) => ({ text: bubble.text })) : []
  }

  writes(user: Who) {
    return user === "owner" ? [...this.deltas] : []
  }

  async approve(_user: Who) {
    if (!this.latestApproval || !this.ownerToken) return false
    const response = await this.request(`/approvals/${this.latestApproval}`, this.ownerToken, {
      method: "POST",
      json: { decision: "approve" },
    })
    return response.ok
  }

  stop() {
    if (this.poller) clearInterval(this.poller)
    this.poller = null
    for (const stream of this.streams) stream.abort()
  }
}

const web: ContractAdapter = {
  kind: "web",
  pairing: false,
  sessionChannel: "api",
  approvalBy: "control-api",
  strangerRefusal: "send",
  optOut: {
    badToken:
      "the web chat has no platform token; a bad token is one client's (401 for it alone, the gateway stays healthy: the case below)",
    kill9:
      "a browser does not redeliver like a platform; the acknowledged message is stored and its turn ends interrupted (the case below)",
  },
  start: async () => new WebChat(),
}

contractSuite(web)

let chat: WebChat | null = null
afterEach(() => {
  chat?.stop()
  chat = null
})

test("web: a bad token is refused 401 for that client only; the gateway stays healthy and the owner is answered", async () => {
  chat = new WebChat()
  await using ws = await workspace({ config: demoConfig({}) })
  await using gw = await spawnGateway(ws.path)
  await chat.attach(gw)
  await chat.send("stranger", "hello")
  const health = await gw.api("/healthz")
  expect(health.status).toBe(200)
  await chat.send("owner", "still here?")
  await waitEvent(ws, "session.turn.completed")
  // The stream's last frame (turn.completed) comes after the deltas: once send's reader is done, all are in.
  for (let i = 0; i < 100 && !chat.messages("owner").some((m) => m.text.includes('You said: "still here?"')); i++)
    await Bun.sleep(50)
  expect(chat.messages("owner").some((m) => m.text.includes('You said: "still here?"'))).toBe(true)
  expect(await gw.stop()).toBe(0)
}, 30_000)

test("web: kill -9 mid-turn, restart: the acknowledged message is stored, its turn ended interrupted, nothing ran twice", async () => {
  chat = new WebChat()
  await using ws = await workspace({ config: demoConfig({}, { delayMs: 1000 }) })
  let session: string
  {
    await using gw = await spawnGateway(ws.path)
    await chat.attach(gw)
    // The message is acknowledged (turn.accepted) before send returns: from then on it is the gateway's.
    await chat.send("owner", "a long story please")
    await waitEvent(ws, "session.turn.started")
    session = ((await (await gw.api("/sessions?channel=api")).json()) as { sessions: { id: string }[] }).sessions[0]!.id
    await gw.kill9()
  }
  chat.stop()
  await using gw = await spawnGateway(ws.path)
  const body = (await (await gw.api(`/sessions/${session}?limit=200`)).json()) as {
    messages: { role: string; parts: { text?: string }[] }[]
    turns: { status: string }[]
  }
  const users = body.messages.filter((message) => message.role === "user")
  expect(users.map((message) => message.parts.map((part) => part.text ?? "").join(""))).toEqual(["a long story please"])
  // One turn, ended interrupted by the crash; the restart did not run it again.
  expect(body.turns.map((turn) => turn.status)).toEqual(["interrupted"])
  expect(await gw.stop()).toBe(0)
}, 40_000)
