/**
 * "Loop", a tiny chat platform on 127.0.0.1 for the example channel plugin (examples/plugin-channel-loop):
 * the API its header describes, enforcing what a platform enforces. Events are a log the bot reads
 * after a cursor (`GET /bot/events?after=<cursor>`; without one, from the start, as a bot that lost its
 * cursor would), so a bot killed before it moved its cursor on gets them again; messages are at most 2,000
 * characters (400), a conversation takes one write per `gapMs` (429 with `retry_after`), a bad token is 401.
 * Attachments up to 1 KB come inline in the event (base64); larger ones are fetched, with the token, from
 * GET /bot/files/<id>. POST /bot/voice { conversation, type, name, data (base64) } posts a voice message.
 */
export interface LoopMessage {
  id: string
  conversation: string
  text: string
  buttons: { label: string; data: string }[][]
  /** A voice message the bot posted (POST /bot/voice). */
  voice?: { type: string; name: string; bytes: Uint8Array }
}

/** A file a user attaches to a message (`durationSec` for a voice note). */
export interface LoopUpload {
  name: string
  type: string
  bytes: Uint8Array
  durationSec?: number
}

/** An attachment as a message event carries it: Loop inlines files up to `INLINE_BYTES` (base64). */
interface LoopFile {
  id: string
  name: string
  type: string
  size: number
  duration?: number
  inline?: string
}

/** Files up to this size come inline in the event; larger ones are fetched from /bot/files/<id>. */
export const INLINE_BYTES = 1024

type Event =
  | {
      id: string
      type: "message"
      conversation: string
      user: { id: string; name: string }
      text: string
      files?: LoopFile[]
      /** A group message: its group (a thread's: the group it is in), space, thread, and whether the bot was mentioned. */
      group?: string
      space?: string
      thread?: string
      mentioned?: boolean
    }
  | {
      id: string
      type: "press"
      conversation: string
      user: { id: string; name: string }
      message: string
      data: string
    }
  | { id: string; type: "command"; conversation: string; user: { id: string; name: string }; line: string }

export interface LoopPlatform {
  readonly url: string
  readonly token: string
  /** Every write that was accepted: conversation, arrival (ms), characters. */
  readonly writes: { conversation: string; at: number; chars: number }[]
  /** A user writes in their DM with the bot (conversation `dm-<user id>`), with files attached if given. */
  message(user: { id: string; name: string }, text: string, files?: LoopUpload[]): void
  /**
   * A user writes in a group (conversation: the thread if given, else the group), mentioning the bot or not.
   */
  groupMessage(
    user: { id: string; name: string },
    where: { group: string; space?: string; thread?: string },
    text: string,
    mentioned: boolean,
  ): void
  /** Files fetched by the bot (GET /bot/files/<id>), by name, in order. */
  readonly fetched: string[]
  /** Events after the furthest cursor the bot has read from (not confirmed yet). */
  pending(): number
  /** The `after` of each events request, in order (null: none given). */
  readonly polls: (number | null)[]
  /** How many times each event (by id) was handed to the bot. */
  readonly delivered: Map<string, number>
  /** A user types a command into Loop's command box (not a message) in their DM. */
  command(user: { id: string; name: string }, line: string): void
  /** A user presses a button of a message. */
  press(user: { id: string; name: string }, message: LoopMessage, data: string): void
  messages(conversation: string): LoopMessage[]
  /** How many times the bot asked for /bot/me (it is connected once it did). */
  readonly logins: number
  stop(): void
}

export function startLoopPlatform(options: { gapMs: number }): LoopPlatform {
  const token = "loop-token-1"
  /** The event log; an event's cursor is its position (1, 2, …). */
  const events: Event[] = []
  const polls: (number | null)[] = []
  const delivered = new Map<string, number>()
  let confirmed = 0
  const messages = new Map<string, LoopMessage>()
  const writes: LoopPlatform["writes"] = []
  const lastWrite = new Map<string, number>()
  const waiters = new Set<() => void>()
  const files = new Map<string, LoopUpload>()
  const fetched: string[] = []
  let next = 1
  let logins = 0
  const wake = () => {
    for (const waiter of waiters) waiter()
    waiters.clear()
  }
  const push = (event: Event) => {
    events.push(event)
    wake()
  }

  /** A write of `text` to a conversation: checked against the length and the rate limit. */
  const write = (conversation: string, text: string | undefined): Response | null => {
    if (typeof text !== "string" || text.length > 2000)
      return Response.json({ error: "message too long (2,000 characters at most)" }, { status: 400 })
    const now = performance.now()
    const last = lastWrite.get(conversation)
    if (last !== undefined && now - last < options.gapMs)
      return Response.json(
        { error: "rate limited", retry_after: Math.ceil(options.gapMs - (now - last)) },
        { status: 429 },
      )
    lastWrite.set(conversation, now)
    writes.push({ conversation, at: now, chars: text.length })
    return null
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      if (request.headers.get("authorization") !== `Bearer ${token}`)
        return Response.json({ error: "invalid token" }, { status: 401 })
      const body = (request.method === "POST" ? await request.json().catch(() => ({})) : {}) as {
        ids?: string[]
        conversation?: string
        text?: string
        buttons?: LoopMessage["buttons"]
      }
      if (url.pathname === "/bot/me") {
        logins++
        return Response.json({ id: "b-loop", name: "loopbot" })
      }
      const file = url.pathname.match(/^\/bot\/files\/(f\d+)$/)
      if (file) {
        const upload = files.get(file[1]!)
        if (!upload) return Response.json({ error: "no such file" }, { status: 404 })
        fetched.push(upload.name)
        return new Response(upload.bytes, { headers: { "content-type": upload.type } })
      }
      if (url.pathname === "/bot/events") {
        const given = url.searchParams.get("after")
        const after = given === null ? 0 : Number(given)
        polls.push(given === null ? null : after)
        if (!Number.isInteger(after) || after < 0 || after > events.length)
          return Response.json({ error: "unknown cursor" }, { status: 409 })
        confirmed = Math.max(confirmed, after)
        if (events.length <= after) {
          const wait = Math.min(Number(url.searchParams.get("wait") ?? 0), 5000)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait)
            waiters.add(() => {
              clearTimeout(timer)
              resolve()
            })
          })
        }
        const batch = events.slice(after)
        for (const event of batch) delivered.set(event.id, (delivered.get(event.id) ?? 0) + 1)
        return Response.json({ events: batch, cursor: Math.max(after, events.length) })
      }
      if (url.pathname === "/bot/voice") {
        const voice = body as { conversation?: string; type?: string; name?: string; data?: string }
        const conversation = String(voice.conversation ?? "")
        if (!voice.type?.startsWith("audio/") || !voice.name || !voice.data)
          return Response.json({ error: "a voice message needs type (audio/…), name and data" }, { status: 400 })
        const refused = write(conversation, "")
        if (refused) return refused
        const bytes = Uint8Array.from(Buffer.from(voice.data, "base64"))
        const message = {
          id: `m${next++}`,
          conversation,
          text: "",
          buttons: [],
          voice: { type: voice.type, name: voice.name, bytes },
        }
        messages.set(message.id, message)
        return Response.json({ id: message.id })
      }
      if (url.pathname === "/bot/messages") {
        const conversation = String(body.conversation ?? "")
        const refused = write(conversation, body.text)
        if (refused) return refused
        const message = { id: `m${next++}`, conversation, text: body.text ?? "", buttons: body.buttons ?? [] }
        messages.set(message.id, message)
        return Response.json({ id: message.id })
      }
      const edit = url.pathname.match(/^\/bot\/messages\/(m\d+)$/)
      if (edit) {
        const message = messages.get(edit[1]!)
        if (!message) return Response.json({ error: "no such message" }, { status: 404 })
        if (message.text === body.text && body.buttons === undefined)
          return Response.json({ error: "not modified" }, { status: 400 })
        const refused = write(message.conversation, body.text)
        if (refused) return refused
        message.text = body.text ?? ""
        if (body.buttons !== undefined) message.buttons = body.buttons
        return Response.json({ ok: true })
      }
      return Response.json({ error: "not found" }, { status: 404 })
    },
  })

  return {
    url: `http://127.0.0.1:${server.port}`,
    token,
    writes,
    get logins() {
      return logins
    },
    fetched,
    pending: () => events.length - confirmed,
    polls,
    delivered,
    message(user, text, uploads) {
      const attached = uploads?.map((upload): LoopFile => {
        const id = `f${next++}`
        files.set(id, upload)
        return {
          id,
          name: upload.name,
          type: upload.type,
          size: upload.bytes.length,
          ...(upload.durationSec !== undefined ? { duration: upload.durationSec } : {}),
          ...(upload.bytes.length <= INLINE_BYTES ? { inline: Buffer.from(upload.bytes).toString("base64") } : {}),
        }
      })
      push({
        id: `e${next++}`,
        type: "message",
        conversation: `dm-${user.id}`,
        user,
        text,
        ...(attached ? { files: attached } : {}),
      })
    },
    groupMessage(user, where, text, mentioned) {
      push({
        id: `e${next++}`,
        type: "message",
        conversation: where.thread ?? where.group,
        user,
        text,
        group: where.group,
        ...(where.space ? { space: where.space } : {}),
        ...(where.thread ? { thread: where.thread } : {}),
        mentioned,
      })
    },
    command(user, line) {
      push({ id: `e${next++}`, type: "command", conversation: `dm-${user.id}`, user, line })
    },
    press(user, message, data) {
      push({ id: `e${next++}`, type: "press", conversation: message.conversation, user, message: message.id, data })
    },
    messages: (conversation) => [...messages.values()].filter((message) => message.conversation === conversation),
    stop() {
      wake()
      server.stop(true)
    },
  }
}
