/**
 * A fake Telegram Bot API on 127.0.0.1, faithful where the channel depends on it:
 * - `getUpdates` long-polls: it confirms every update below `offset`, answers at once when updates are
 *   waiting and otherwise holds the request up to `timeout` seconds; when a second getUpdates arrives
 *   the older one ends with 409 Conflict, as on Telegram;
 * - `sendMessage` / `editMessageText` validate HTML as strictly as Telegram (telegram-html.ts), enforce
 *   4,096 characters and answer "message is not modified" for an identical edit;
 * - `sendChatAction`, `setMyCommands` (name and description rules), `getMe`, `deleteWebhook`,
 *   `getFile` plus `/file/bot<token>/<path>` downloads;
 * - injected failures: 429 with `retry_after`, 5xx, 401, 409, hung requests.
 * Every call is recorded with its time, so tests assert on the wire (`calls`, `waitFor`).
 */
import type { Server } from "bun"
import { parseHtml } from "./telegram-html.ts"

export interface Call {
  method: string
  params: Record<string, unknown>
  at: number
  /** What the fake answered: ok, or the error code. */
  status: "ok" | number
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
  private updates: Record<string, unknown>[] = []
  private nextUpdate = 1000
  private nextMessage = new Map<number, number>()
  private files = new Map<string, { path: string; bytes: Uint8Array }>()
  private failures: { method: string; failure: Failure; count: number }[] = []
  private waiters = new Set<() => void>()
  private polling: { resolve: (body: unknown) => void } | null = null
  readonly bot = BOT

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

  /** Register a downloadable file; returns its file_id. */
  file(bytes: Uint8Array, path: string): string {
    const id = `file_${this.files.size + 1}`
    this.files.set(id, { path, bytes })
    return id
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
      case "sendChatAction":
        return this.ok(true)
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
        const entry = this.files.get(String(params.file_id))
        if (!entry) return this.error(call, 400, "Bad Request: invalid file_id")
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
      default:
        return this.error(call, 404, "Not Found: method not found")
    }
  }

  private async getUpdates(call: Call, params: Record<string, unknown>, request: Request): Promise<Response> {
    const offset = Number(params.offset ?? 0)
    if (offset > 0) this.updates = this.updates.filter((update) => (update.update_id as number) >= offset)
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100)
    const timeout = Number(params.timeout ?? 0)
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
    if (this.updates.length > 0 || timeout <= 0) return this.ok(take())
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
        if (this.updates.length > 0) done({ ok: true, result: take() })
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
      }
      this.messages.push(message)
      return this.ok({
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: chatId < 0 ? "group" : "private" },
        from: BOT,
        text,
      })
    }
    const target = this.messages.find(
      (message) => message.chatId === chatId && message.messageId === Number(params.message_id),
    )
    if (!target) return this.error(call, 400, "Bad Request: message to edit not found")
    if (target.text === text && target.html === html)
      return this.error(
        call,
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      )
    target.text = text
    target.html = html
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
}

async function readParams(request: Request, url: URL): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = Object.fromEntries(url.searchParams)
  if (request.method !== "POST") return out
  const type = request.headers.get("content-type") ?? ""
  if (type.includes("application/json")) return { ...out, ...((await request.json()) as Record<string, unknown>) }
  if (type.includes("form")) {
    const form = await request.formData()
    for (const [key, value] of form.entries()) {
      const text = typeof value === "string" ? value : await value.text()
      try {
        out[key] = JSON.parse(text)
      } catch {
        out[key] = text
      }
    }
  }
  return out
}
