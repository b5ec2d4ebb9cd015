/**
 * A fake Slack on 127.0.0.1: Socket Mode and the Web API, faithful where the channel depends on them.
 * - `apps.connections.open` takes the app-level token (`xapp-`) only and answers a one-time
 *   `ws://…/link/?ticket=…` URL; the WebSocket on it says `hello` first, as Slack does;
 * - `events_api`, `interactive` and `slash_commands` envelopes carry an `envelope_id` the client must
 *   acknowledge (`{"envelope_id": …}`); one not acknowledged is sent again on the next connection with
 *   `retry_attempt` + 1 and `retry_reason: "timeout"` (Slack retries an unacknowledged event), so a
 *   client that crashed before acknowledging sees it again;
 * - `disconnect({ reason: "refresh_requested" })` asks the client to reconnect (it must call
 *   apps.connections.open again); `drop()` closes the socket without a word;
 * - Web API methods (`auth.test`, `chat.postMessage`, `chat.update`, `conversations.replies`) take the
 *   bot token (`xoxb-`) as `Authorization: Bearer`, form-encoded or JSON bodies, and answer
 *   `{ ok: false, error }` as Slack does: `invalid_auth`, `not_allowed_token_type`, `channel_not_found`,
 *   `message_not_found`, `no_text`, `msg_too_long` (over 40,000 characters), `invalid_blocks`;
 * - rate limits: a chat method called again for the same channel within `gapMs` answers HTTP 429 with
 *   `Retry-After` (seconds), as Slack's per-channel limits do; `failNext` injects any answer.
 * - like Slack, the app's own posts and updates come back as message events (`bot_id`, and subtype
 *   `message_changed` for an update) to a client subscribed to message events (`echoOwn`, default on);
 * Every Web API call is recorded (`calls`), every acknowledgement (`acks`), every connection (`connections`).
 */
import type { Server, ServerWebSocket } from "bun"

export const BOT_USER = "U0BOT"
export const TEAM = "T0TEAM"
export const APP = "A0APP"

export interface Call {
  method: string
  params: Record<string, unknown>
  token: string | null
  at: number
  /** What the fake answered: "ok", a Slack error code, or an HTTP status. */
  status: string | number
}

export interface Posted {
  channel: string
  ts: string
  threadTs: string | null
  text: string
  blocks: unknown[] | null
  edits: number
}

interface Envelope {
  envelope_id: string
  type: "events_api" | "interactive" | "slash_commands"
  payload: Record<string, unknown>
  accepts_response_payload: boolean
  retry_attempt: number
  retry_reason: string
}

type Injected = { status: 429; retryAfter: number } | { error: string } | { status: number }

const TEXT_LIMIT = 40_000
const SECTION_LIMIT = 3_000

export class FakeSlack {
  server!: Server<{ ticket: string }>
  readonly botToken = "xoxb-1-fake-bot-token"
  readonly appToken = "xapp-1-A0APP-fake-app-token"
  readonly calls: Call[] = []
  readonly posted: Posted[] = []
  readonly acks: { envelopeId: string; payload?: unknown }[] = []
  /** One per WebSocket that said hello; `closed` once it ended. */
  readonly connections: { ticket: string; closed: boolean }[] = []
  /** A chat method for the same channel within this gap answers 429 (0: no limit). */
  gapMs = 0
  retryAfterSec = 1
  /** Send the app's own posts and updates back as message events, as Slack does. */
  echoOwn = true
  private readonly tickets = new Set<string>()
  private readonly sockets = new Set<ServerWebSocket<{ ticket: string }>>()
  private readonly unacked = new Map<string, Envelope>()
  private readonly sent = new Map<string, Envelope>()
  private readonly lastChat = new Map<string, number>()
  private readonly injected = new Map<string, Injected[]>()
  /** Files people "uploaded": served at their url_private to the bot token only. */
  private readonly files = new Map<string, { bytes: Uint8Array; mimetype: string; name: string }>()
  /** File downloads the client made (file ids), in order. */
  readonly downloads: string[] = []
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = []
  private seq = 0
  private clock = 1_700_000_000

  static async start(): Promise<FakeSlack> {
    const fake = new FakeSlack()
    fake.server = Bun.serve<{ ticket: string }, never>({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) => fake.fetch(req, server),
      websocket: {
        open: (ws) => fake.opened(ws),
        message: (ws, data) => fake.received(ws, String(data)),
        close: (ws) => fake.closed(ws),
      },
    })
    return fake
  }

  /** The Web API root to give the client (WebClient's `slackApiUrl`). */
  get apiUrl() {
    return `http://127.0.0.1:${this.server.port}/api/`
  }

  stop() {
    for (const ws of this.sockets) ws.close(1001, "server stopped")
    this.server.stop(true)
  }

  /** The next call of `method` answers this instead (repeat to fail several). */
  failNext(method: string, answer: Injected) {
    const list = this.injected.get(method) ?? []
    list.push(answer)
    this.injected.set(method, list)
  }

  // ── Socket Mode ────────────────────────────────────────────────────────────────────────────────────

  get open(): number {
    return this.sockets.size
  }

  /** A message from a person: a DM (`channel` starting with D) or, with `mention`, an app_mention. */
  message(opts: {
    user: string
    text: string
    channel?: string
    thread?: string
    mention?: boolean
    files?: ReturnType<FakeSlack["file"]>[]
  }): string {
    const channel = opts.channel ?? `D${opts.user}`
    const ts = this.ts()
    const im = channel.startsWith("D")
    const event = {
      type: opts.mention ? "app_mention" : "message",
      user: opts.user,
      text: opts.mention ? `<@${BOT_USER}> ${opts.text}` : opts.text,
      ts,
      channel,
      event_ts: ts,
      team: TEAM,
      ...(im && !opts.mention ? { channel_type: "im" } : opts.mention ? {} : { channel_type: "channel" }),
      ...(opts.thread ? { thread_ts: opts.thread } : {}),
      ...(opts.files ? { files: opts.files, subtype: "file_share", upload: false } : {}),
    }
    this.event(event)
    return ts
  }

  /** A file a person shares (a file_share message's `files` entry); the bytes are served to the bot token. */
  file(name: string, mimetype: string, bytes: Uint8Array) {
    const id = `F${++this.seq}`
    this.files.set(id, { bytes, mimetype, name })
    const url = `http://127.0.0.1:${this.server.port}/files-pri/${TEAM}-${id}/${encodeURIComponent(name)}`
    return {
      id,
      name,
      mimetype,
      filetype: name.split(".").pop(),
      size: bytes.length,
      url_private: url,
      url_private_download: url,
    }
  }

  /** Any Events API event, wrapped as Slack wraps it; returns the envelope id. */
  event(event: Record<string, unknown>): string {
    const id = `Ev${++this.seq}`
    return this.deliver("events_api", {
      token: "verification-token",
      team_id: TEAM,
      api_app_id: APP,
      event,
      type: "event_callback",
      event_id: id,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: TEAM, user_id: BOT_USER, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    })
  }

  /** A press of a button the bot's message really shows; throws if it shows none with this action id. */
  press(user: string, channel: string, ts: string, actionId: string): string {
    const message = this.posted.find((item) => item.channel === channel && item.ts === ts)
    if (!message) throw new Error(`fake Slack: no message ${channel}/${ts}`)
    const button = buttons(message.blocks).find((item) => item.action_id === actionId)
    if (!button) throw new Error(`fake Slack: message ${ts} shows no button ${actionId}`)
    return this.deliver("interactive", {
      type: "block_actions",
      team: { id: TEAM, domain: "fake" },
      user: { id: user, username: user, team_id: TEAM },
      api_app_id: APP,
      container: { type: "message", message_ts: ts, channel_id: channel, is_ephemeral: false },
      trigger_id: `trigger-${++this.seq}`,
      channel: { id: channel, name: channel },
      message: { type: "message", user: BOT_USER, ts, text: message.text, blocks: message.blocks },
      response_url: `http://127.0.0.1:${this.server.port}/response/${ts}`,
      actions: [
        {
          type: "button",
          action_id: button.action_id,
          block_id: button.block_id,
          value: button.value,
          text: button.text,
          action_ts: this.ts(),
        },
      ],
    })
  }

  /** A slash command (`/drost …`), payload as Slack sends it (the form fields of a command). */
  command(user: string, channel: string, command: string, text: string): string {
    return this.deliver(
      "slash_commands",
      {
        token: "verification-token",
        team_id: TEAM,
        team_domain: "fake",
        channel_id: channel,
        channel_name: channel.startsWith("D") ? "directmessage" : channel,
        user_id: user,
        user_name: user,
        command,
        text,
        api_app_id: APP,
        response_url: `http://127.0.0.1:${this.server.port}/response/cmd`,
        trigger_id: `trigger-${++this.seq}`,
      },
      true,
    )
  }

  /**
   * Send an envelope again as Slack retries one whose ack came late or got lost: the same envelope and
   * event id, `retry_attempt` + 1, `retry_reason: "timeout"`.
   */
  retry(envelopeId: string) {
    const envelope = this.sent.get(envelopeId)
    if (!envelope) throw new Error(`fake Slack: no envelope ${envelopeId}`)
    envelope.retry_attempt += 1
    envelope.retry_reason = "timeout"
    this.unacked.set(envelopeId, envelope)
    const ws = [...this.sockets].at(-1)
    if (ws) ws.send(JSON.stringify(envelope))
  }

  /** How many times an envelope was acknowledged. */
  ackCount(envelopeId: string): number {
    return this.acks.filter((ack) => ack.envelopeId === envelopeId).length
  }

  /** Ask every open connection to reconnect, as Slack does before recycling a server. */
  disconnect(reason: "refresh_requested" | "warning" | "link_disabled" = "refresh_requested") {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "fake" } }))
  }

  /** Close every connection abruptly (a network drop). */
  drop() {
    for (const ws of this.sockets) ws.terminate()
  }

  acked(envelopeId: string): boolean {
    return this.acks.some((ack) => ack.envelopeId === envelopeId)
  }

  /** Resolve once `check()` holds (re-checked after every call, ack and connection); reject after `ms`. */
  waitFor(check: () => boolean, what = "condition", ms = 10_000): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake Slack: no ${what} within ${ms} ms`)), ms)
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }

  /** Messages the bot posted in a channel (optionally one thread), in order. */
  chat(channel: string, thread?: string): Posted[] {
    return this.posted.filter((item) => item.channel === channel && (thread === undefined || item.threadTs === thread))
  }

  private deliver(type: Envelope["type"], payload: Record<string, unknown>, accepts = false): string {
    const envelope: Envelope = {
      envelope_id: crypto.randomUUID(),
      type,
      payload,
      accepts_response_payload: accepts,
      retry_attempt: 0,
      retry_reason: "",
    }
    this.unacked.set(envelope.envelope_id, envelope)
    this.sent.set(envelope.envelope_id, envelope)
    const ws = [...this.sockets].at(-1)
    if (ws) ws.send(JSON.stringify(envelope))
    return envelope.envelope_id
  }

  private opened(ws: ServerWebSocket<{ ticket: string }>) {
    this.sockets.add(ws)
    this.connections.push({ ticket: ws.data.ticket, closed: false })
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: this.sockets.size,
        debug_info: { host: "fake-slack", build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: APP },
      }),
    )
    // What was sent before and never acknowledged comes again, as Slack retries it.
    for (const envelope of this.unacked.values()) {
      envelope.retry_attempt += 1
      envelope.retry_reason = "timeout"
      ws.send(JSON.stringify(envelope))
    }
    this.settle()
  }

  private received(_ws: ServerWebSocket<{ ticket: string }>, data: string) {
    let frame: { envelope_id?: string; payload?: unknown }
    try {
      frame = JSON.parse(data)
    } catch {
      throw new Error(`fake Slack: the client sent something that is not JSON: ${data.slice(0, 100)}`)
    }
    if (!frame.envelope_id) return
    if (!this.unacked.has(frame.envelope_id) && !this.acked(frame.envelope_id)) return
    this.unacked.delete(frame.envelope_id)
    this.acks.push({ envelopeId: frame.envelope_id, payload: frame.payload })
    this.settle()
  }

  private closed(ws: ServerWebSocket<{ ticket: string }>) {
    this.sockets.delete(ws)
    const record = this.connections.find((item) => item.ticket === ws.data.ticket)
    if (record) record.closed = true
    this.settle()
  }

  // ── Web API ────────────────────────────────────────────────────────────────────────────────────────

  private async fetch(req: Request, server: Server<{ ticket: string }>): Promise<Response | undefined> {
    const url = new URL(req.url)
    if (url.pathname === "/link/") {
      const ticket = url.searchParams.get("ticket") ?? ""
      if (!this.tickets.delete(ticket)) return new Response("invalid ticket", { status: 401 })
      if (server.upgrade(req, { data: { ticket } })) return undefined
      return new Response("upgrade required", { status: 426 })
    }
    const file = url.pathname.match(/^\/files-pri\/[A-Z0-9]+-(F\d+)\//)
    if (file && req.method === "GET") {
      // Like Slack: without the bot token the answer is a login page, not the file.
      if (req.headers.get("authorization") !== `Bearer ${this.botToken}`)
        return new Response("<html>sign in</html>", { headers: { "content-type": "text/html" } })
      const found = this.files.get(file[1]!)
      if (!found) return new Response("not found", { status: 404 })
      this.downloads.push(file[1]!)
      return new Response(found.bytes, { headers: { "content-type": found.mimetype } })
    }
    const match = url.pathname.match(/^\/api\/([\w.]+)$/)
    if (!match || req.method !== "POST") return new Response("not found", { status: 404 })
    const method = match[1]!
    const params = await readParams(req)
    const token = req.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? (params.token as string) ?? null
    const call: Call = { method, params, token, at: performance.now(), status: "ok" }
    this.calls.push(call)
    const answer = this.answer(method, params, token, call)
    this.settle()
    return answer
  }

  private answer(method: string, params: Record<string, unknown>, token: string | null, call: Call): Response {
    const fail = (error: string, extra: Record<string, unknown> = {}) => {
      call.status = error
      return Response.json({ ok: false, error, ...extra })
    }
    const injected = this.injected.get(method)?.shift()
    if (injected) {
      if ("error" in injected) return fail(injected.error)
      call.status = injected.status
      if ("retryAfter" in injected)
        return Response.json(
          { ok: false, error: "ratelimited" },
          { status: 429, headers: { "retry-after": String(injected.retryAfter) } },
        )
      return new Response("upstream error", { status: injected.status })
    }
    if (method === "apps.connections.open") {
      if (token !== this.appToken) return fail(token?.startsWith("xoxb-") ? "not_allowed_token_type" : "invalid_auth")
      const ticket = crypto.randomUUID()
      this.tickets.add(ticket)
      return Response.json({ ok: true, url: `ws://127.0.0.1:${this.server.port}/link/?ticket=${ticket}&app_id=${APP}` })
    }
    if (token !== this.botToken) return fail(token?.startsWith("xapp-") ? "not_allowed_token_type" : "invalid_auth")
    if (method === "auth.test")
      return Response.json({
        ok: true,
        url: "https://fake.slack.com/",
        team: "Fake Team",
        user: "drost",
        team_id: TEAM,
        user_id: BOT_USER,
        bot_id: "B0BOT",
        is_enterprise_install: false,
      })
    if (method === "chat.postMessage" || method === "chat.update") {
      const channel = String(params.channel ?? "")
      if (!/^[CDG][A-Z0-9]+$/.test(channel)) return fail("channel_not_found")
      const last = this.lastChat.get(channel)
      const now = performance.now()
      if (this.gapMs > 0 && last !== undefined && now - last < this.gapMs) {
        call.status = 429
        return Response.json(
          { ok: false, error: "ratelimited" },
          { status: 429, headers: { "retry-after": String(this.retryAfterSec) } },
        )
      }
      const text = typeof params.text === "string" ? params.text : ""
      const blocks = parseBlocks(params.blocks)
      if (blocks === "invalid") return fail("invalid_blocks")
      if (!text && !blocks?.length) return fail("no_text")
      if (text.length > TEXT_LIMIT) return fail("msg_too_long")
      this.lastChat.set(channel, now)
      if (method === "chat.postMessage") {
        const ts = this.ts()
        const threadTs = typeof params.thread_ts === "string" ? params.thread_ts : null
        this.posted.push({ channel, ts, threadTs, text, blocks, edits: 0 })
        if (this.echoOwn)
          queueMicrotask(() =>
            this.event({
              type: "message",
              user: BOT_USER,
              bot_id: "B0BOT",
              app_id: APP,
              text,
              ts,
              channel,
              event_ts: ts,
              channel_type: channel.startsWith("D") ? "im" : "channel",
              ...(threadTs ? { thread_ts: threadTs } : {}),
            }),
          )
        return Response.json({ ok: true, channel, ts, message: { type: "message", user: BOT_USER, text, ts } })
      }
      const message = this.posted.find((item) => item.channel === channel && item.ts === params.ts)
      if (!message) return fail("message_not_found")
      message.text = text
      message.blocks = blocks
      message.edits += 1
      if (this.echoOwn)
        queueMicrotask(() =>
          this.event({
            type: "message",
            subtype: "message_changed",
            hidden: true,
            channel,
            ts: this.ts(),
            event_ts: this.ts(),
            message: {
              type: "message",
              user: BOT_USER,
              bot_id: "B0BOT",
              text,
              ts: message.ts,
              edited: { user: BOT_USER },
            },
          }),
        )
      return Response.json({ ok: true, channel, ts: message.ts, text })
    }
    if (method === "conversations.replies") {
      const channel = String(params.channel ?? "")
      const ts = String(params.ts ?? "")
      const messages = this.posted
        .filter((item) => item.channel === channel && (item.ts === ts || item.threadTs === ts))
        .map((item) => ({ type: "message", user: BOT_USER, text: item.text, ts: item.ts, thread_ts: item.threadTs }))
      return Response.json({ ok: true, messages, has_more: false })
    }
    return fail("unknown_method")
  }

  private ts(): string {
    this.clock += 1
    return `${this.clock}.${String(++this.seq).padStart(6, "0")}`
  }

  private settle() {
    for (const waiter of [...this.waiters])
      if (waiter.check()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
  }
}

async function readParams(req: Request): Promise<Record<string, unknown>> {
  const type = req.headers.get("content-type") ?? ""
  const raw = await req.text()
  if (!raw) return {}
  if (type.includes("application/json")) return JSON.parse(raw) as Record<string, unknown>
  return Object.fromEntries(new URLSearchParams(raw))
}

interface Button {
  action_id: string
  block_id: string
  value?: string
  text: unknown
}

/** Blocks as Slack checks them: a JSON array of at most 50 typed blocks, section text ≤ 3,000 characters. */
function parseBlocks(value: unknown): unknown[] | null | "invalid" {
  if (value === undefined || value === null || value === "") return null
  let blocks: unknown
  try {
    blocks = typeof value === "string" ? JSON.parse(value) : value
  } catch {
    return "invalid"
  }
  if (!Array.isArray(blocks) || blocks.length > 50) return "invalid"
  for (const block of blocks as Record<string, unknown>[]) {
    if (typeof block?.type !== "string") return "invalid"
    const text = (block.text as { text?: string } | undefined)?.text
    if (block.type === "section" && (typeof text !== "string" || text.length > SECTION_LIMIT)) return "invalid"
    if (block.type === "actions") {
      const elements = block.elements as Record<string, unknown>[] | undefined
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) return "invalid"
      for (const element of elements)
        if (element.type !== "button" || typeof element.action_id !== "string" || !element.text) return "invalid"
    }
  }
  return blocks
}

function buttons(blocks: unknown[] | null): Button[] {
  const out: Button[] = []
  for (const block of (blocks ?? []) as Record<string, unknown>[]) {
    if (block.type !== "actions") continue
    for (const element of block.elements as Record<string, unknown>[])
      out.push({
        action_id: String(element.action_id),
        block_id: String(block.block_id ?? ""),
        value: element.value as string | undefined,
        text: element.text,
      })
  }
  return out
}
