/**
 * A loopback fake of Discord for the channel tests: the Gateway (a WebSocket speaking API v10 JSON:
 * HELLO op 10, IDENTIFY op 2, HEARTBEAT op 1 / ACK op 11, dispatches op 0 with sequence numbers, RESUME
 * op 6 replaying what was missed then RESUMED, INVALID_SESSION op 9, close codes 4004 and 4014) and the
 * REST API under `/api/v10` (GET /gateway/bot, /users/@me, channel messages create / edit, typing,
 * interaction callbacks and their webhook edits, application commands bulk overwrite).
 *
 * It enforces what the real one enforces, so a client that breaks a rule fails here too:
 * - `Authorization: Bot <token>` on every REST call (401 otherwise) and in IDENTIFY (close 4004);
 * - message content at most 2,000 characters (400, code 50035 "Invalid Form Body");
 * - per-channel rate limits with `X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket` headers,
 *   and 429 with `{ retry_after, global }` when a client sends past them (counted in `violations`);
 * - an interaction is acknowledged once (a second callback is 400, code 40060) and within 3 seconds
 *   (later: 404, code 10062);
 * - the MESSAGE_CONTENT intent: without it, guild messages that do not mention the bot arrive with
 *   empty content; a privileged intent the application has not enabled closes the socket with 4014.
 */
import type { Server, ServerWebSocket } from "bun"

export const INTENTS = { Guilds: 1, GuildMessages: 1 << 9, DirectMessages: 1 << 12, MessageContent: 1 << 15 }

export interface FakeDiscordOptions {
  token?: string
  /** Message sends and edits allowed per channel per window (Discord: 5 per 5 s). */
  limit?: number
  windowMs?: number
  heartbeatMs?: number
  /** The application has the MESSAGE_CONTENT intent enabled in the developer portal (default true). */
  messageContentEnabled?: boolean
}

export interface Posted {
  id: string
  channelId: string
  content: string
  /** Every content it had, in order (the first is the create, the rest edits). */
  history: string[]
  components: unknown[]
  /** Set when the message answers an interaction (its webhook's `@original`). */
  interaction?: string
}

export interface Hit {
  method: string
  path: string
  status: number
  /** The channel of a message create or edit, and the length of its content. */
  channelId?: string
  chars?: number
  at: number
}

interface Socket {
  ws: ServerWebSocket<{ id: number }>
  identified: boolean
  sessionId: string | null
}

const API = "/api/v10"
const BOT_ID = "1100000000000000001"
const APP_ID = "1100000000000000002"
let snowflakes = 1300000000000000000n
export const snowflake = () => String(++snowflakes)

/** The fake's bot token unless told otherwise (its first part is the bot id in base64, as Discord's are). */
const DEFAULT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.fake.discord-bot-token"

export function createFakeDiscord(options: FakeDiscordOptions = {}) {
  const token = options.token ?? DEFAULT_TOKEN
  const limit = options.limit ?? 5
  const windowMs = options.windowMs ?? 5000
  const heartbeatMs = options.heartbeatMs ?? 41_250
  const contentEnabled = options.messageContentEnabled ?? true
  const bot = { id: BOT_ID, username: "drostbot", discriminator: "0", global_name: "Drost", bot: true, avatar: null }
  const hits: Hit[] = []
  const posted = new Map<string, Posted>()
  const channels = new Map<string, { id: string; type: number; guild_id?: string; parent_id?: string }>()
  const buckets = new Map<string, { used: number; resetAt: number }>()
  const interactions = new Map<string, { acked: boolean; channelId: string; at: number }>()
  const attachments = new Map<string, { type: string; bytes: Uint8Array }>()
  let commands: Record<string, unknown>[] = []
  let violations = 0
  /** 429s to answer next regardless of the bucket (a shared limit the client cannot see coming). */
  let forced = 0
  let sequence = 0
  let intents = 0
  /** Every dispatch of the session, so a RESUME can replay the ones after the client's `seq`. */
  const sent: { s: number; t: string; d: unknown }[] = []
  let sessionId = crypto.randomUUID().replaceAll("-", "")
  const sockets = new Set<Socket>()
  const identifies: unknown[] = []
  const resumes: unknown[] = []
  const waiters: (() => void)[] = []
  const changed = () => {
    for (const wake of waiters.splice(0)) wake()
  }

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    // 204 No Content has no body and no content type, as Discord sends it.
    status === 204
      ? new Response(null, { status, headers })
      : new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

  /** One rate-limit bucket per key (route and channel), like Discord's per-channel buckets. */
  const rateLimit = (key: string): Response | Record<string, string> => {
    const now = Date.now()
    let bucket = buckets.get(key)
    if (!bucket || bucket.resetAt <= now) {
      bucket = { used: 0, resetAt: now + windowMs }
      buckets.set(key, bucket)
    }
    const resetAfter = (bucket.resetAt - now) / 1000
    const headers = {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-reset": String(bucket.resetAt / 1000),
      "x-ratelimit-reset-after": resetAfter.toFixed(3),
      "x-ratelimit-bucket": `bucket-${Bun.hash(key).toString(16)}`,
    }
    if (bucket.used >= limit || forced > 0) {
      // A forced 429 is the fake's doing; only a write past a bucket the headers announced is the client's fault.
      if (forced > 0) forced--
      else violations++
      return json(
        429,
        { message: "You are being rate limited.", retry_after: resetAfter, global: false },
        {
          ...headers,
          "x-ratelimit-remaining": "0",
          "retry-after": String(Math.ceil(resetAfter)),
          "x-ratelimit-scope": "user",
        },
      )
    }
    bucket.used++
    return { ...headers, "x-ratelimit-remaining": String(limit - bucket.used) }
  }

  const tooLong = (content: unknown) =>
    typeof content === "string" && content.length > 2000
      ? json(400, {
          message: "Invalid Form Body",
          code: 50035,
          errors: {
            content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." }] },
          },
        })
      : null

  const messageOf = (message: Posted) => ({
    id: message.id,
    channel_id: message.channelId,
    content: message.content,
    author: bot,
    components: message.components,
    attachments: [],
    embeds: [],
    mentions: [],
    timestamp: new Date().toISOString(),
    edited_timestamp: message.history.length > 1 ? new Date().toISOString() : null,
    type: 0,
  })

  const create = (channelId: string, body: Record<string, unknown>, interaction?: string): Posted => {
    const message: Posted = {
      id: snowflake(),
      channelId,
      content: String(body.content ?? ""),
      history: [String(body.content ?? "")],
      components: (body.components as unknown[]) ?? [],
      interaction,
    }
    posted.set(message.id, message)
    changed()
    return message
  }
  const edit = (message: Posted, body: Record<string, unknown>) => {
    if (typeof body.content === "string") {
      message.content = body.content
      message.history.push(body.content)
    }
    if (body.components) message.components = body.components as unknown[]
    changed()
  }

  const validCommand = (command: Record<string, unknown>) =>
    typeof command.name === "string" &&
    /^[-_\p{Ll}\p{N}]{1,32}$/u.test(command.name) &&
    (command.type === 2 ||
      command.type === 3 ||
      (typeof command.description === "string" && command.description.length >= 1 && command.description.length <= 100))

  async function rest(request: Request, path: string): Promise<Response> {
    const method = request.method
    if (path.startsWith("/attachments/")) {
      const file = attachments.get(path)
      return file
        ? new Response(file.bytes, { headers: { "content-type": file.type } })
        : new Response("", { status: 404 })
    }
    const body = method === "GET" || method === "DELETE" ? null : await request.json().catch(() => null)
    const route = path.slice(API.length)
    const webhook = route.match(/^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(@original|\d+))?$/)
    const callback = route.match(/^\/interactions\/(\d+)\/([^/]+)\/callback$/)
    // Interaction webhooks are authorised by their token, everything else by the bot token.
    if (!webhook && !callback && request.headers.get("authorization") !== `Bot ${token}`)
      return json(401, { message: "401: Unauthorized", code: 0 })
    if (method === "GET" && route === "/gateway/bot")
      return json(200, {
        url: `ws://127.0.0.1:${server.port}`,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      })
    if (method === "GET" && route === "/users/@me") return json(200, bot)
    if (method === "GET" && route === "/oauth2/applications/@me")
      return json(200, { id: APP_ID, name: "Drost", bot_public: false, bot, flags: contentEnabled ? 1 << 19 : 0 })
    const channel = route.match(/^\/channels\/(\d+)$/)
    if (method === "GET" && channel) {
      const known = channels.get(channel[1]!)
      return known ? json(200, known) : json(404, { message: "Unknown Channel", code: 10003 })
    }
    if (method === "POST" && route.match(/^\/channels\/\d+\/typing$/)) return json(204, null)
    const messages = route.match(/^\/channels\/(\d+)\/messages(?:\/(\d+))?$/)
    if (messages && (method === "POST" || method === "PATCH")) {
      const payload = (body ?? {}) as Record<string, unknown>
      const bad = tooLong(payload.content)
      if (bad) return bad
      if (method === "POST" && !payload.content && !(payload.components as unknown[] | undefined)?.length)
        return json(400, { message: "Cannot send an empty message", code: 50006 })
      // Per channel, creates and edits in buckets of their own (as Discord answers them).
      const limited = rateLimit(`messages:${method}:${messages[1]}`)
      if (limited instanceof Response) return limited
      if (method === "POST") return json(200, messageOf(create(messages[1]!, payload)), limited)
      const message = posted.get(messages[2]!)
      if (!message || message.channelId !== messages[1]) return json(404, { message: "Unknown Message", code: 10008 })
      edit(message, payload)
      return json(200, messageOf(message), limited)
    }
    if (method === "PUT" && route === `/applications/${APP_ID}/commands`) {
      const list = (body ?? []) as Record<string, unknown>[]
      if (!Array.isArray(list) || !list.every(validCommand))
        return json(400, { message: "Invalid Form Body", code: 50035, errors: {} })
      commands = list.map((command) => ({ id: snowflake(), application_id: APP_ID, type: 1, version: "1", ...command }))
      changed()
      return json(200, commands)
    }
    if (method === "POST" && callback) {
      const known = interactions.get(callback[1]!)
      if (!known) return json(404, { message: "Unknown interaction", code: 10062 })
      if (known.acked) return json(400, { message: "Interaction has already been acknowledged.", code: 40060 })
      // Discord drops an interaction nobody acknowledged within 3 seconds.
      if (Date.now() - known.at > 3000) return json(404, { message: "Unknown interaction", code: 10062 })
      known.acked = true
      const payload = (body ?? {}) as { type: number; data?: Record<string, unknown> }
      const bad = tooLong(payload.data?.content)
      if (bad) return bad
      if (payload.type === 4 || payload.type === 5) create(known.channelId, payload.data ?? {}, callback[2])
      if (payload.type === 7) {
        const original = [...posted.values()].find((message) => message.interaction === `source:${callback[1]}`)
        if (original) edit(original, payload.data ?? {})
      }
      changed()
      return json(204, null)
    }
    if (webhook && webhook[1] === APP_ID) {
      const payload = (body ?? {}) as Record<string, unknown>
      const bad = tooLong(payload.content)
      if (bad) return bad
      if (method === "POST" && !webhook[3]) {
        const known = [...interactions.entries()].find(([, value]) => value.channelId)
        return json(200, messageOf(create(known?.[1].channelId ?? "0", payload, `followup:${webhook[2]}`)))
      }
      if (method === "PATCH" && webhook[3] === "@original") {
        const original = [...posted.values()].find((message) => message.interaction === webhook[2])
        if (!original) return json(404, { message: "Unknown Message", code: 10008 })
        edit(original, payload)
        return json(200, messageOf(original))
      }
    }
    return json(404, { message: "404: Not Found", code: 0 })
  }

  const send = (socket: Socket, payload: unknown) => socket.ws.send(JSON.stringify(payload))

  /** A dispatch to every identified socket, numbered, and kept for RESUME replays. */
  const dispatch = (t: string, d: unknown) => {
    const event = { s: ++sequence, t, d }
    sent.push(event)
    for (const socket of sockets) if (socket.identified) send(socket, { op: 0, ...event })
  }

  const onMessage = (socket: Socket, raw: string) => {
    const { op, d } = JSON.parse(raw) as { op: number; d: Record<string, unknown> | number | null }
    if (op === 1) return send(socket, { op: 11 })
    if (op === 2) {
      const identify = d as { token: string; intents: number }
      identifies.push(identify)
      if (identify.token !== token) return socket.ws.close(4004, "Authentication failed.")
      if (identify.intents & INTENTS.MessageContent && !contentEnabled)
        return socket.ws.close(4014, "Disallowed intent(s).")
      intents = identify.intents
      sessionId = crypto.randomUUID().replaceAll("-", "")
      sent.length = 0
      socket.identified = true
      socket.sessionId = sessionId
      dispatch("READY", {
        v: 10,
        user: bot,
        guilds: [],
        session_id: sessionId,
        resume_gateway_url: `ws://127.0.0.1:${server.port}`,
        shard: [0, 1],
        application: { id: APP_ID, flags: 0 },
      })
      changed()
      return
    }
    if (op === 6) {
      const resume = d as { token: string; session_id: string; seq: number }
      resumes.push(resume)
      if (resume.token !== token) return socket.ws.close(4004, "Authentication failed.")
      if (resume.session_id !== sessionId) return send(socket, { op: 9, d: false })
      socket.identified = true
      socket.sessionId = sessionId
      for (const event of sent) if (event.s > resume.seq) send(socket, { op: 0, ...event })
      send(socket, { op: 0, s: sequence, t: "RESUMED", d: null })
      changed()
    }
  }

  const server: Server<{ id: number }> = Bun.serve<{ id: number }>({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request, srv) {
      const at = Date.now()
      const url = new URL(request.url)
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        if (url.searchParams.get("v") !== "10" || url.searchParams.get("encoding") !== "json")
          return new Response("bad gateway parameters", { status: 400 })
        return srv.upgrade(request, { data: { id: 0 } }) ? undefined : new Response("upgrade failed", { status: 400 })
      }
      const body = (await request
        .clone()
        .json()
        .catch(() => null)) as { content?: unknown } | null
      const response = await rest(request, decodeURIComponent(url.pathname))
      const write = url.pathname.match(/^\/api\/v10\/channels\/(\d+)\/messages/)
      hits.push({
        method: request.method,
        path: url.pathname,
        status: response.status,
        channelId: write?.[1],
        chars: typeof body?.content === "string" ? body.content.length : undefined,
        at,
      })
      changed()
      return response
    },
    websocket: {
      open(ws) {
        const socket: Socket = { ws, identified: false, sessionId: null }
        sockets.add(socket)
        send(socket, { op: 10, d: { heartbeat_interval: heartbeatMs } })
      },
      message(ws, raw) {
        const socket = [...sockets].find((candidate) => candidate.ws === ws)
        if (socket) onMessage(socket, String(raw))
      },
      close(ws) {
        for (const socket of sockets) if (socket.ws === ws) sockets.delete(socket)
        changed()
      },
    },
  })

  const user = (id: string, username = `user${id.slice(-3)}`) => ({
    id,
    username,
    discriminator: "0",
    global_name: username,
    bot: false,
    avatar: null,
  })
  /** Content as Discord delivers it: without MESSAGE_CONTENT, a guild message not addressed to the bot is empty. */
  const visible = (content: string, guildId: string | undefined, mentions: string[]) =>
    guildId && !(intents & INTENTS.MessageContent) && !mentions.includes(BOT_ID) ? "" : content

  const fake = {
    token,
    botId: BOT_ID,
    applicationId: APP_ID,
    api: `http://127.0.0.1:${server.port}/api`,
    hits,
    identifies,
    resumes,
    get commands() {
      return commands
    },
    get violations() {
      return violations
    },
    get connected() {
      return [...sockets].some((socket) => socket.identified)
    },
    /** A channel the REST API knows (GET /channels/:id): a guild text channel (0) or a thread (11). */
    channel(id: string, type: number, guildId?: string, parentId?: string) {
      channels.set(id, { id, type, guild_id: guildId, parent_id: parentId })
    },
    /** A user's message: a DM when `guildId` is absent. `mention` puts `<@bot>` in front of the text. */
    message(
      channelId: string,
      userId: string,
      content: string,
      extra: { guildId?: string; mention?: boolean; images?: { type: string; bytes: Uint8Array }[] } = {},
    ) {
      const mentions = extra.mention ? [BOT_ID] : []
      const text = extra.mention ? `<@${BOT_ID}> ${content}` : content
      const files = (extra.images ?? []).map((image, index) => {
        const id = snowflake()
        const path = `/attachments/${channelId}/${id}/image${index}.png`
        attachments.set(path, image)
        return {
          id,
          filename: `image${index}.png`,
          size: image.bytes.length,
          url: `http://127.0.0.1:${server.port}${path}`,
          proxy_url: `http://127.0.0.1:${server.port}${path}`,
          content_type: image.type,
        }
      })
      const message = {
        id: snowflake(),
        channel_id: channelId,
        guild_id: extra.guildId,
        author: user(userId),
        content: visible(text, extra.guildId, mentions),
        mentions: mentions.map((id) => (id === BOT_ID ? bot : user(id))),
        attachments: files,
        embeds: [],
        timestamp: new Date().toISOString(),
        type: 0,
      }
      dispatch("MESSAGE_CREATE", message)
      return message
    },
    /** A slash command (type 2) or a button press (type 3, `customId`) from a user. */
    interaction(
      channelId: string,
      userId: string,
      data: { command?: string; options?: { name: string; type: number; value: string }[]; customId?: string },
      guildId?: string,
    ) {
      const id = snowflake()
      const interactionToken = `itok-${id}`
      interactions.set(id, { acked: false, channelId, at: Date.now() })
      const member = guildId ? { user: user(userId), roles: [], permissions: "0" } : undefined
      const source = data.customId
        ? [...posted.values()].find((message) =>
            JSON.stringify(message.components).includes(JSON.stringify(data.customId)),
          )
        : undefined
      if (source) source.interaction ??= `source:${id}`
      dispatch("INTERACTION_CREATE", {
        id,
        application_id: APP_ID,
        type: data.customId ? 3 : 2,
        token: interactionToken,
        version: 1,
        channel_id: channelId,
        channel: channels.get(channelId) ?? { id: channelId, type: guildId ? 0 : 1 },
        guild_id: guildId,
        member,
        user: guildId ? undefined : user(userId),
        data: data.customId
          ? { custom_id: data.customId, component_type: 2 }
          : { id: snowflake(), name: data.command, type: 1, options: data.options ?? [] },
        message: source ? messageOf(source) : undefined,
      })
      return id
    },
    /** Answer the next `n` message writes with 429 (as when another process shares the bot's limits). */
    limitNext(n = 1) {
      forced = n
    },
    /** The same dispatch again, as Discord may send one twice; the bot must not answer it twice. */
    redeliver(message: { id: string }) {
      const event = sent.find((candidate) => (candidate.d as { id?: string }).id === message.id)
      if (event) dispatch(event.t, event.d)
    },
    /** Drop every connection without a close frame the client can act on (a network cut). */
    drop(code = 4000) {
      for (const socket of sockets) socket.ws.close(code, "dropped by the fake")
    },
    /** Forget the session: the next RESUME gets INVALID_SESSION (d: false) and the client identifies anew. */
    forgetSession() {
      sessionId = "forgotten"
    },
    /** Messages the bot has in a channel, oldest first. */
    messages(channelId: string): Posted[] {
      return [...posted.values()].filter((message) => message.channelId === channelId)
    },
    /** Resolve once `predicate` holds (checked after every request and socket event); reject after `ms`. */
    async until(predicate: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
      const deadline = Date.now() + ms
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`fake discord: no ${what} within ${ms} ms`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 100)
        })
      }
    },
    stop() {
      for (const socket of sockets) socket.ws.close(1001, "fake stopping")
      server.stop(true)
    },
  }
  return fake
}

createFakeDiscord.defaultToken = DEFAULT_TOKEN

export type FakeDiscord = ReturnType<typeof createFakeDiscord>
