/**
 * A fake Telegram Bot API on 127.0.0.1, faithful where the channel depends on it:
 * - `getUpdates` long-polls: it confirms every update below `offset`, answers at once when updates are
 *   waiting and otherwise holds the request up to `timeout` seconds; when a second getUpdates arrives
 *   the older one ends with 409 Conflict, as on Telegram;
 * - `sendMessage` / `editMessageText` validate HTML as strictly as Telegram (telegram-html.ts), enforce
 *   4,096 characters and answer "message is not modified" for an identical edit;
 * - `sendChatAction` (Telegram's action names), `setMyCommands` (name and description rules), `getMe`,
 *   `deleteWebhook`, `getFile` (a file_id it issued; "file is too big" over 20 MB, as the cloud Bot API)
 *   plus `/file/bot<token>/<path>` downloads (recorded in `downloads`);
 * - `sendVoice` as a multipart upload (grammY's `attach://` parts): `chat_id`, a `voice` that is an
 *   uploaded OGG, MP3 or M4A file (checked by its bytes) or a file_id the fake issued, `caption` up to
 *   1,024 characters, `duration` an integer, `reply_parameters` with a `message_id`; recorded in `voices`;
 * - inline keyboards (keyboard.ts): `reply_markup` validated like Telegram's, `press()` delivers a
 *   `callback_query` only for a button the message really shows, `answerCallbackQuery` accepts each
 *   query id once, `editMessageReplyMarkup` replaces the keyboard ("not modified" when unchanged);
 * - `allowed_updates` of getUpdates is remembered, and updates of other types are dropped, as on Telegram;
 * - injected failures: 429 with `retry_after`, 5xx, 401, 409, hung requests;
 * - `instant`: answer getUpdates at once, ignoring `timeout`, like the emulator telegram-test-api.
 * Every call is recorded with its time, so tests assert on the wire (`calls`, `waitFor`).
 */
import type { Server } from "bun"
import { type Answer, checkMarkup, type Keyboard } from "./keyboard.ts"
import { parseHtml } from "./telegram-html.ts"

export interface Call {
  method: string
  params: Record<string, unknown>
  at: number
  /** What the fake answered: ok, or the error code. */
  status: "ok" | number
}

/** A file part of a multipart request, as the fake received it. */
export class Upload {
  constructor(
    readonly name: string,
    readonly bytes: Uint8Array,
  ) {}
  toJSON() {
    return `<upload ${this.name}, ${this.bytes.length} bytes>`
  }
}

export interface SentVoice {
  chatId: number
  messageId: number
  bytes: Uint8Array
  fileName: string
  params: Record<string, unknown>
}

export interface SentMessage {
  chatId: number
  messageId: number
  text: string
  html: string | null
  edits: number
  /** When it was sent. */
  at: number
  /** When its current content arrived (send or last edit). */
  updatedAt: number
  /** Its inline keyboard, if it has one. */
  markup: Keyboard | null
}

type Failure = { code: number; description: string; retryAfter?: number } | { hang: true } | { raw: number }

interface User {
  id: number
  first_name: string
  username?: string
}

const BOT = { id: 4242, is_bot: true, first_name: "Drost Test", username: "drost_test_bot" }

export class FakeTelegram {
  server!: Server<undefined>
  readonly calls: Call[] = []
  readonly messages: SentMessage[] = []
  readonly commands: { command: string; description: string }[] = []
  readonly delivered: number[] = []
  readonly tokens = new Set<string>()
  /** Voice messages the bot sent (sendVoice), in order. */
  readonly voices: SentVoice[] = []
  /** File paths downloaded through /file/bot<token>/<path>, in order. */
  readonly downloads: string[] = []
  /** Every answerCallbackQuery the bot made, in order. */
  readonly answers: Answer[] = []
  /** Callback query ids delivered and not answered yet. */
  private queries = new Set<string>()
  private nextQuery = 1
  /** Update types the bot asked for with allowed_updates (null: never said, so Telegram's default). */
  private allowed: string[] | null = null
  private updates: Record<string, unknown>[] = []
  private nextUpdate = 1000
  private nextMessage = new Map<number, number>()
  private files = new Map<string, { path: string; bytes: Uint8Array }>()
  private failures: { method: string; failure: Failure; count: number }[] = []
  private waiters = new Set<() => void>()
  private polling: { resolve: (body: unknown) => void } | null = null
  readonly bot = BOT
  /** Answer getUpdates at once whatever its `timeout` (as telegram-test-api does). */
  instant = false

  constructor(readonly token = "4242:TEST-token_abc") {
    this.tokens.add(token)
  }

  static async start(token?: string): Promise<FakeTelegram> {
    const fake = new FakeTelegram(token)
    fake.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: (request) => fake.handle(request),
    })
    return fake
  }

  get apiRoot() {
    return `http://127.0.0.1:${this.server.port}`
  }

  stop() {
    this.polling?.resolve({ ok: true, result: [] })
    this.server.stop(true)
  }

  // ---- test controls -------------------------------------------------------------------------------

  /** Make the next `count` calls of `method` fail. */
  fail(method: string, failure: Failure, count = 1) {
    this.failures.push({ method, failure, count })
  }

  rateLimit(method: string, retryAfter: number, count = 1) {
    this.fail(method, { code: 429, description: `Too Many Requests: retry after ${retryAfter}`, retryAfter }, count)
  }

  /** Queue an update; returns its update_id. */
  push(update: Record<string, unknown>): number {
    const id = this.nextUpdate++
    this.updates.push({ update_id: id, ...update })
    this.wake()
    return id
  }

  text(
    from: User | number,
    text: string,
    chat?: { id: number; type?: string; title?: string },
    extra: Record<string, unknown> = {},
  ): number {
    const user = typeof from === "number" ? { id: from, first_name: `User${from}`, username: `user${from}` } : from
    const chatInfo = chat ? { type: "group", ...chat } : { id: user.id, type: "private", first_name: user.first_name }
    const entities = text.startsWith("/")
      ? [{ type: "bot_command", offset: 0, length: text.split(/\s/)[0]!.length }]
      : undefined
    return this.push({
      message: {
        message_id: this.nextUpdate,
        date: Math.floor(Date.now() / 1000),
        from: { ...user, is_bot: false },
        chat: chatInfo,
        text,
        entities,
        ...extra,
      },
    })
  }

  /**
   * A person presses the button with `data` under the bot's message: a `callback_query` update, as
   * Telegram sends it. Throws (a broken test) unless the message currently shows such a button.
   */
  press(from: User | number, chatId: number, messageId: number, data: string): number {
    const user = typeof from === "number" ? { id: from, first_name: `User${from}`, username: `user${from}` } : from
    const message = this.messages.find((entry) => entry.chatId === chatId && entry.messageId === messageId)
    if (!message) throw new Error(`fake telegram: no message ${messageId} in chat ${chatId} to press a button on`)
    const buttons = message.markup?.inline_keyboard.flat() ?? []
    if (!buttons.some((button) => button.callback_data === data))
      throw new Error(
        `fake telegram: message ${messageId} shows no button with data ${data}; it shows ${JSON.stringify(buttons)}`,
      )
    const id = String(8_000_000_000 + this.nextQuery++)
    this.queries.add(id)
    return this.push({
      callback_query: {
        id,
        from: { ...user, is_bot: false },
        chat_instance: `ci${chatId}`,
        data,
        message: {
          message_id: message.messageId,
          date: Math.floor(message.at / 1000),
          from: BOT,
          chat: chatId < 0 ? { id: chatId, type: "group", title: `group ${chatId}` } : { id: chatId, type: "private" },
          text: message.text,
          reply_markup: message.markup,
        },
      },
    })
  }

  /** The message with `messageId` in `chatId`, as the fake holds it now. */
  find(chatId: number, messageId: number): SentMessage | undefined {
    return this.messages.find((entry) => entry.chatId === chatId && entry.messageId === messageId)
  }

  /** Register a downloadable file; returns its file_id. */
  file(bytes: Uint8Array, path: string): string {
    const id = `file_${this.files.size + 1}`
    this.files.set(id, { path, bytes })
    return id
  }

  /**
   * A person sends a voice message (`kind: "voice"`, Telegram stores it as voice/file_N.oga) or an audio
   * file (`kind: "audio"`): the audio is registered for getFile and the update queued, with `duration`
   * and `file_size` as Telegram states them (override them to lie, as an update may).
   */
  voice(
    from: number,
    bytes: Uint8Array,
    options: {
      kind?: "voice" | "audio"
      duration?: number
      fileSize?: number | null
      mimeType?: string
      fileName?: string
      caption?: string
    } = {},
  ): { updateId: number; fileId: string } {
    const kind = options.kind ?? "voice"
    const index = this.files.size + 1
    const path =
      kind === "voice"
        ? `voice/file_${index}.oga`
        : `music/file_${index}.${options.fileName?.split(".").pop() ?? "mp3"}`
    const fileId = this.file(bytes, path)
    const media: Record<string, unknown> = {
      file_id: fileId,
      file_unique_id: `u${fileId}`,
      duration: options.duration ?? 3,
      mime_type: options.mimeType ?? (kind === "voice" ? "audio/ogg" : "audio/mpeg"),
      ...(options.fileSize === null ? {} : { file_size: options.fileSize ?? bytes.length }),
      ...(kind === "audio" && options.fileName ? { file_name: options.fileName } : {}),
    }
    const updateId = this.push({
      message: {
        message_id: this.nextUpdate,
        date: Math.floor(Date.now() / 1000),
        from: { id: from, is_bot: false, first_name: `User${from}`, username: `user${from}` },
        chat: { id: from, type: "private", first_name: `User${from}` },
        [kind]: media,
        ...(options.caption ? { caption: options.caption } : {}),
      },
    })
    return { updateId, fileId }
  }

  /** Updates queued and not yet confirmed by an offset. */
  unconfirmed(): number {
    return this.updates.length
  }

  chat(chatId: number): SentMessage[] {
    return this.messages.filter((message) => message.chatId === chatId)
  }

  callsOf(method: string, chatId?: number): Call[] {
    return this.calls.filter(
      (call) => call.method === method && (chatId === undefined || Number(call.params.chat_id) === chatId),
    )
  }

  /** Resolves when `predicate` holds (checked after every call and update). */
  async waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 10_000, what = "condition"): Promise<T> {
    const first = predicate()
    if (first) return first
    return await new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = predicate()
        if (!value) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(value)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(
          new Error(
            `fake telegram: timed out after ${timeoutMs} ms waiting for ${what}; last calls:\n${this.calls
              .slice(-15)
              .map((c) => `${c.method} ${c.status} ${JSON.stringify(c.params).slice(0, 160)}`)
              .join("\n")}`,
          ),
        )
      }, timeoutMs)
      this.waiters.add(check)
    })
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter()
  }

  // ---- the Bot API ---------------------------------------------------------------------------------

  private async handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const file = url.pathname.match(/^\/file\/bot([^/]+)\/(.+)$/)
    if (file) {
      const entry = [...this.files.values()].find((candidate) => candidate.path === file[2])
      if (!this.tokens.has(file[1]!) || !entry) return new Response("Not Found", { status: 404 })
      this.downloads.push(entry.path)
      this.wake()
      return new Response(entry.bytes)
    }
    const match = url.pathname.match(/^\/bot([^/]+)\/([A-Za-z]+)$/)
    if (!match) return Response.json({ ok: false, error_code: 404, description: "Not Found" }, { status: 404 })
    const [, token, method] = match as unknown as [string, string, string]
    const params = await readParams(request, url)
    const call: Call = { method, params, at: Date.now(), status: "ok" }
    this.calls.push(call)
    const reply = async (): Promise<Response> => {
      if (!this.tokens.has(token)) return this.error(call, 401, "Unauthorized")
      const injected = this.failures.find((entry) => entry.method === method && entry.count > 0)
      if (injected) {
        injected.count--
        const failure = injected.failure
        if ("hang" in failure) {
          call.status = 0
          return await new Promise<Response>((resolve) =>
            request.signal.addEventListener("abort", () => resolve(new Response(null, { status: 499 }))),
          )
        }
        if ("raw" in failure) {
          call.status = failure.raw
          return new Response("<html>Bad Gateway</html>", {
            status: failure.raw,
            headers: { "content-type": "text/html" },
          })
        }
        return this.error(call, failure.code, failure.description, failure.retryAfter)
      }
      return await this.method(call, method, params, request)
    }
    const response = await reply()
    this.wake()
    return response
  }

  private error(call: Call, code: number, description: string, retryAfter?: number): Response {
    call.status = code
    const body = {
      ok: false,
      error_code: code,
      description,
      ...(retryAfter !== undefined ? { parameters: { retry_after: retryAfter } } : {}),
    }
    return Response.json(body, { status: code })
  }

  private ok(result: unknown): Response {
    return Response.json({ ok: true, result })
  }

  private async method(
    call: Call,
    method: string,
    params: Record<string, unknown>,
    request: Request,
  ): Promise<Response> {
    switch (method) {
      case "getMe":
        return this.ok(BOT)
      case "deleteWebhook":
        return this.ok(true)
      case "sendChatAction":
        if (params.chat_id === undefined) return this.error(call, 400, "Bad Request: chat_id is empty")
        if (!CHAT_ACTIONS.includes(String(params.action)))
          return this.error(call, 400, "Bad Request: wrong parameter action in request")
        return this.ok(true)
      case "sendVoice":
        return this.sendVoice(call, params)
      case "setMyCommands": {
        const list = (params.commands ?? []) as { command: string; description: string }[]
        for (const entry of list) {
          if (!/^[a-z0-9_]{1,32}$/.test(entry.command)) return this.error(call, 400, "Bad Request: BOT_COMMAND_INVALID")
          if (!entry.description || entry.description.length > 256)
            return this.error(call, 400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        }
        this.commands.splice(0, this.commands.length, ...list)
        return this.ok(true)
      }
      case "getUpdates":
        return await this.getUpdates(call, params, request)
      case "getFile": {
        if (typeof params.file_id !== "string" || !params.file_id)
          return this.error(call, 400, "Bad Request: file_id is empty")
        const entry = this.files.get(params.file_id)
        if (!entry) return this.error(call, 400, "Bad Request: invalid file_id")
        if (entry.bytes.length > 20 * 1024 * 1024) return this.error(call, 400, "Bad Request: file is too big")
        return this.ok({
          file_id: params.file_id,
          file_unique_id: `u${params.file_id}`,
          file_size: entry.bytes.length,
          file_path: entry.path,
        })
      }
      case "sendMessage":
      case "editMessageText":
        return this.message(call, method, params)
      case "editMessageReplyMarkup":
        return this.editMarkup(call, params)
      case "answerCallbackQuery":
        return this.answer(call, params)
      default:
        return this.error(call, 404, "Not Found: method not found")
    }
  }

  private async getUpdates(call: Call, params: Record<string, unknown>, request: Request): Promise<Response> {
    if (params.allowed_updates !== undefined) {
      const list =
        typeof params.allowed_updates === "string" ? JSON.parse(params.allowed_updates) : params.allowed_updates
      if (!Array.isArray(list)) return this.error(call, 400, "Bad Request: allowed_updates must be an Array")
      // An empty list means "every type except chat_member, message_reaction and message_reaction_count".
      this.allowed = list.length ? list.map(String) : null
    }
    // Telegram does not keep updates of types the bot did not ask for: they are never delivered.
    const allowed = this.allowed ?? DEFAULT_UPDATES
    const waiting = () => {
      this.updates = this.updates.filter((update) => Object.keys(update).some((key) => allowed.includes(key)))
      return this.updates.length
    }
    const offset = Number(params.offset ?? 0)
    if (offset > 0) this.updates = this.updates.filter((update) => (update.update_id as number) >= offset)
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100)
    const timeout = this.instant ? 0 : Number(params.timeout ?? 0)
    if (this.polling) {
      // Telegram ends the older request with 409 when a second getUpdates arrives.
      this.polling.resolve({
        ok: false,
        error_code: 409,
        description:
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      })
      this.polling = null
    }
    const take = () => {
      const batch = this.updates.slice(0, limit)
      this.delivered.push(...batch.map((update) => update.update_id as number))
      return batch
    }
    if (waiting() > 0 || timeout <= 0) return this.ok(take())
    const body = await new Promise<unknown>((resolve) => {
      const slot = { resolve }
      this.polling = slot
      const done = (value: unknown) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        if (this.polling === slot) this.polling = null
        resolve(value)
      }
      slot.resolve = done
      const check = () => {
        if (waiting() > 0) done({ ok: true, result: take() })
      }
      const timer = setTimeout(() => done({ ok: true, result: [] }), timeout * 1000)
      this.waiters.add(check)
      request.signal.addEventListener("abort", () => done({ ok: true, result: [] }))
    })
    const failed = body as { ok: boolean; error_code?: number }
    if (!failed.ok) call.status = failed.error_code ?? 500
    return Response.json(body, { status: failed.ok ? 200 : (failed.error_code ?? 500) })
  }

  private message(call: Call, method: string, params: Record<string, unknown>): Response {
    const chatId = Number(params.chat_id)
    const raw = String(params.text ?? "")
    let text = raw
    if (params.parse_mode === "HTML") {
      const parsed = parseHtml(raw)
      if (!parsed.ok) return this.error(call, 400, parsed.description)
      text = parsed.text
    } else if (params.parse_mode !== undefined)
      return this.error(call, 400, `Bad Request: unsupported parse_mode ${String(params.parse_mode)}`)
    if (!text.trim()) return this.error(call, 400, "Bad Request: message text is empty")
    const markup = checkMarkup(params.reply_markup)
    if (!markup.ok) return this.error(call, 400, markup.description)
    if (text.length > 4096) return this.error(call, 400, "Bad Request: message is too long")
    const html = params.parse_mode === "HTML" ? raw : null
    if (method === "sendMessage") {
      const id = (this.nextMessage.get(chatId) ?? 0) + 1
      this.nextMessage.set(chatId, id)
      const message: SentMessage = {
        chatId,
        messageId: id,
        text,
        html,
        edits: 0,
        at: Date.now(),
        updatedAt: Date.now(),
        markup: markup.keyboard,
      }
      this.messages.push(message)
      return this.ok({
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: chatId < 0 ? "group" : "private" },
        from: BOT,
        text,
        ...(markup.keyboard ? { reply_markup: markup.keyboard } : {}),
      })
    }
    const target = this.messages.find(
      (message) => message.chatId === chatId && message.messageId === Number(params.message_id),
    )
    if (!target) return this.error(call, 400, "Bad Request: message to edit not found")
    if (target.text === text && target.html === html && sameMarkup(target.markup, markup.keyboard))
      return this.error(
        call,
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      )
    target.text = text
    target.html = html
    // editMessageText without reply_markup removes the keyboard, as on Telegram.
    target.markup = markup.keyboard
    target.edits++
    target.updatedAt = Date.now()
    return this.ok({
      message_id: target.messageId,
      date: Math.floor(target.at / 1000),
      chat: { id: chatId, type: "private" },
      from: BOT,
      text,
      edit_date: Math.floor(Date.now() / 1000),
    })
  }

  private sendVoice(call: Call, params: Record<string, unknown>): Response {
    if (params.chat_id === undefined || params.chat_id === "")
      return this.error(call, 400, "Bad Request: chat_id is empty")
    const chatId = Number(params.chat_id)
    if (!Number.isInteger(chatId)) return this.error(call, 400, "Bad Request: chat not found")
    const voice = params.voice
    if (voice === undefined) return this.error(call, 400, "Bad Request: there is no voice in the request")
    let upload: Upload
    if (voice instanceof Upload) upload = voice
    else if (typeof voice === "string" && this.files.has(voice)) {
      const known = this.files.get(voice)!
      upload = new Upload(known.path.split("/").pop()!, known.bytes)
    } else return this.error(call, 400, "Bad Request: wrong file identifier/HTTP URL specified")
    if (!isVoiceAudio(upload.bytes))
      return this.error(call, 400, "Bad Request: VOICE_INVALID: the voice is not OGG/Opus, MP3 or M4A audio")
    if (params.caption !== undefined && String(params.caption).length > 1024)
      return this.error(call, 400, "Bad Request: message caption is too long")
    if (params.duration !== undefined && !Number.isInteger(params.duration))
      return this.error(call, 400, "Bad Request: wrong parameter duration in request")
    if (params.reply_parameters !== undefined) {
      const reply = params.reply_parameters as { message_id?: unknown }
      if (typeof reply !== "object" || reply === null || !Number.isInteger(reply.message_id))
        return this.error(call, 400, "Bad Request: can't parse reply parameters JSON object")
    }
    const id = (this.nextMessage.get(chatId) ?? 0) + 1
    this.nextMessage.set(chatId, id)
    this.voices.push({ chatId, messageId: id, bytes: upload.bytes, fileName: upload.name, params })
    const fileId = this.file(upload.bytes, `voice/sent_${id}.oga`)
    return this.ok({
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: chatId < 0 ? "group" : "private" },
      from: BOT,
      voice: {
        file_id: fileId,
        file_unique_id: `u${fileId}`,
        duration: 1,
        mime_type: "audio/ogg",
        file_size: upload.bytes.length,
      },
    })
  }

  private editMarkup(call: Call, params: Record<string, unknown>): Response {
    if (params.inline_message_id !== undefined)
      return this.error(call, 400, "Bad Request: inline messages are not supported by this fake")
    if (params.chat_id === undefined) return this.error(call, 400, "Bad Request: chat_id is empty")
    if (params.message_id === undefined)
      return this.error(call, 400, "Bad Request: message identifier is not specified")
    const markup = checkMarkup(params.reply_markup)
    if (!markup.ok) return this.error(call, 400, markup.description)
    const target = this.find(Number(params.chat_id), Number(params.message_id))
    if (!target) return this.error(call, 400, "Bad Request: message to edit not found")
    if (sameMarkup(target.markup, markup.keyboard))
      return this.error(
        call,
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      )
    target.markup = markup.keyboard
    target.edits++
    target.updatedAt = Date.now()
    return this.ok({
      message_id: target.messageId,
      date: Math.floor(target.at / 1000),
      chat: { id: target.chatId, type: target.chatId < 0 ? "group" : "private" },
      from: BOT,
      text: target.text,
      edit_date: Math.floor(Date.now() / 1000),
      ...(markup.keyboard ? { reply_markup: markup.keyboard } : {}),
    })
  }

  private answer(call: Call, params: Record<string, unknown>): Response {
    const id = params.callback_query_id
    if (typeof id !== "string" || !id) return this.error(call, 400, "Bad Request: callback_query_id is empty")
    if (!this.queries.has(id))
      return this.error(call, 400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    const text = params.text === undefined ? undefined : String(params.text)
    if (text !== undefined && text.length > 200) return this.error(call, 400, "Bad Request: MESSAGE_TOO_LONG")
    if (params.show_alert !== undefined && typeof params.show_alert !== "boolean")
      return this.error(call, 400, "Bad Request: show_alert must be a Boolean")
    this.queries.delete(id)
    this.answers.push({ id, text, showAlert: params.show_alert === true })
    return this.ok(true)
  }
}

/** The types Telegram sends when allowed_updates was never given or given empty. */
const DEFAULT_UPDATES = [
  "message",
  "edited_message",
  "channel_post",
  "edited_channel_post",
  "inline_query",
  "chosen_inline_result",
  "callback_query",
  "shipping_query",
  "pre_checkout_query",
  "poll",
  "poll_answer",
  "my_chat_member",
  "chat_join_request",
]

const sameMarkup = (a: Keyboard | null, b: Keyboard | null) => JSON.stringify(a) === JSON.stringify(b)

const CHAT_ACTIONS = [
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]

/** OGG ("OggS"), MP3 (an ID3 tag or a frame sync) or M4A (an ISO "ftyp" box): what Telegram plays as a voice. */
function isVoiceAudio(bytes: Uint8Array): boolean {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (ascii(0, 4) === "OggS" || ascii(0, 3) === "ID3" || ascii(4, 8) === "ftyp") return true
  return bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0
}

async function readParams(request: Request, url: URL): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = Object.fromEntries(url.searchParams)
  if (request.method !== "POST") return out
  const type = request.headers.get("content-type") ?? ""
  if (type.includes("application/json")) return { ...out, ...((await request.json()) as Record<string, unknown>) }
  if (type.includes("form")) {
    const form = await request.formData()
    const files = new Map<string, Upload>()
    for (const [key, value] of form.entries()) {
      if (typeof value !== "string") {
        files.set(key, new Upload(value.name, new Uint8Array(await value.arrayBuffer())))
        continue
      }
      try {
        out[key] = JSON.parse(value)
      } catch {
        out[key] = value
      }
    }
    // grammY (like the Bot API's own convention) names an uploaded file `attach://<part>` in the field.
    for (const [key, value] of Object.entries(out)) {
      if (typeof value === "string" && value.startsWith("attach://")) {
        const file = files.get(value.slice("attach://".length))
        out[key] = file ?? value
        if (file) files.delete(value.slice("attach://".length))
      }
    }
    for (const [key, file] of files) out[key] = file
  }
  return out
}
