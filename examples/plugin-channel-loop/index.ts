/**
 * An example channel plugin (docs/plugins.md#channels, docs/channels.md): the chat platform "Loop", a
 * small HTTP API, hosted by the gateway exactly like Telegram, Discord or Slack. The plugin only speaks
 * Loop's wire format; the channel host (`ctx.serve`) does access and pairing, the durable inbox, lanes,
 * commands, the streamed reply, approvals, scheduled deliveries and health.
 *
 *   plugins: ["plugin-channel-loop"],
 *   pluginConfig: { "plugin-channel-loop": { url: "http://127.0.0.1:8700", allowedUsers: ["u-alice"] } },
 *
 * The token is read from the environment (`LOOP_TOKEN`, or the variable `tokenEnv` names), or `token`.
 * Several bots: one `channels` entry each, `{ kind: "loop", url, tokenEnv, allowedUsers }` (then no
 * pluginConfig is needed). `check` is the live check `drost doctor` and `drost setup` run.
 *
 * Loop's API (what test/channels/contract/loop-platform.ts serves on 127.0.0.1):
 *   GET  /bot/me                    → { id, name }; 401 for a bad token
 *   GET  /bot/events?after=<cursor>&wait=<ms> → { events, cursor }: the events after the cursor (long
 *                                     poll; without one, every event from the start); 409 for a cursor it
 *                                     does not know
 *   POST /bot/messages { conversation, text, buttons? }  → { id }; 400 over 2,000 characters
 *   POST /bot/messages/<id> { text, buttons? }           → edit; 404 when the message is gone
 *   a write within the conversation's rate limit         → 429 { retry_after } (ms)
 *   GET  /bot/files/<id>            → an attachment's bytes
 *   POST /bot/voice { conversation, type, name, data }   → a voice message (data: base64)
 * An event is { id, type: "message", conversation, user: { id, name }, text, files? } or
 * { id, type: "press", conversation, user, message, data } (a button press) or
 * { id, type: "command", conversation, user, line } (Loop's command box, answered like a slash command).
 * A group message also has { group, space?, thread?, mentioned } (its conversation is the thread, or the
 * group); the `groups` setting says where and for whom the bot answers (spaces as Discord's guilds).
 * A message's files are { id, name, type, size, duration?, inline? }: `inline` (base64) for small ones,
 * else fetched from /bot/files/<id>. The plugin hands the host small ones as `data` and the others as a
 * `ref` (the file id) with `fetch`, so the inbox stores the reference and a restart can still fetch it.
 * The cursor is the channel's durable state (`ctx.state`, per bot): it moves on once the events before it
 * are in the host's inbox, so a restart reads on from there instead of from the start.
 */
import {
  type ChannelAttachment,
  type ChannelButton,
  type ChannelCheck,
  type ChannelChunk,
  type ChannelMessage,
  type ChannelReplyItem,
  type ChannelReplySurface,
  definePlugin,
  type PluginChannelHost,
} from "drost"

const Settings = {
  type: "object",
  properties: {
    url: { type: "string", minLength: 1, description: "Loop's API, e.g. http://127.0.0.1:8700" },
    tokenEnv: { type: "string", minLength: 1, default: "LOOP_TOKEN", description: "Variable with the bot token" },
    token: { type: "string", minLength: 1, description: "The bot token itself (prefer tokenEnv: configs get shared)" },
    allowedUsers: { type: "array", items: { type: "string" }, default: [], description: "Loop user ids" },
    pairing: { type: "boolean", default: false, description: "Strangers get a one-time code" },
    editIntervalMs: { type: "integer", minimum: 100, default: 1000, description: "Least gap between writes" },
    groups: {
      type: "object",
      description: "Groups the bot answers in when mentioned (off by default)",
      properties: {
        enabled: { type: "boolean", description: "Answer in groups at all" },
        allowed: { type: "array", items: { type: "string" }, description: "Group ids, in any space" },
        members: { enum: ["allowed", "all"], description: '"allowed": allowed users only; "all": anyone there' },
        spaces: {
          type: "array",
          description: "Per space: its groups (none listed: all of them) and who",
          items: {
            type: "object",
            properties: {
              id: { type: "string", minLength: 1 },
              groups: { type: "array", items: { type: "string" } },
              members: { enum: ["allowed", "all"] },
            },
            required: ["id"],
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
  },
  required: ["url"],
  additionalProperties: false,
}
type Settings = {
  url: string
  tokenEnv: string
  token?: string
  allowedUsers: string[]
  pairing: boolean
  editIntervalMs: number
  groups?: {
    enabled?: boolean
    allowed?: string[]
    members?: "allowed" | "all"
    spaces?: { id: string; groups?: string[]; members?: "allowed" | "all" }[]
  }
}

const MESSAGE_CHARS = 2000

/** A failed call to Loop, with what the streamer needs to classify it. */
class LoopError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; retry_after?: number },
  ) {
    super(`Loop answered ${status} ${body.error ?? ""}`.trim())
  }
}

type LoopFile = { id: string; name: string; type: string; size: number; duration?: number; inline?: string }

type LoopEvent =
  | {
      id: string
      type: "message"
      conversation: string
      user: { id: string; name: string }
      text: string
      files?: LoopFile[]
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

function split(text: string): string[] {
  const out: string[] = []
  for (let rest = text; rest.length; rest = rest.slice(MESSAGE_CHARS)) out.push(rest.slice(0, MESSAGE_CHARS))
  return out.length ? out : [""]
}

/** A message's files as the host takes them: images, a voice note (audio with a duration), other files. */
function attached(files: LoopFile[] = []): Pick<ChannelMessage, "images" | "files" | "voice"> {
  const content = (file: LoopFile): ChannelAttachment => ({
    mediaType: file.type,
    bytes: file.size,
    ...(file.inline !== undefined ? { data: file.inline } : { ref: file.id }),
  })
  const voice = files.find((file) => file.type.startsWith("audio/") && file.duration !== undefined)
  const images = files.filter((file) => file.type.startsWith("image/"))
  const others = files.filter((file) => file !== voice && !images.includes(file))
  return {
    ...(images.length ? { images: images.map(content) } : {}),
    ...(others.length ? { files: others.map((file) => ({ ...content(file), name: file.name })) } : {}),
    ...(voice ? { voice: { ...content(voice), durationSec: voice.duration! } } : {}),
  }
}

const toolMark = { running: "…", ok: "✓", error: "✗" } as const
function render(items: ChannelReplyItem[], note?: string): ChannelChunk[] {
  const text = [
    ...items.map((item) => (item.kind === "text" ? item.text.trim() : `🔧 ${item.name} ${toolMark[item.state]}`)),
    note ?? "",
  ]
    .filter(Boolean)
    .join("\n")
  return split(text).map((piece) => ({ formatted: piece, plain: piece }))
}

/** Bytes as base64 with web standards only (btoa over a binary string). */
function base64(bytes: Uint8Array): string {
  let binary = ""
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

const baseOf = (config: Settings) => config.url.replace(/\/+$/, "")
const tokenOf = (config: Settings) => config.token ?? process.env[config.tokenEnv] ?? ""

/** `drost setup` / `drost doctor`: who the token is on Loop (GET /bot/me), or why it does not work. */
async function checkLoop({ config }: { config: Settings }): Promise<ChannelCheck> {
  const base = baseOf(config)
  if (!tokenOf(config)) return { ok: false, problem: `no bot token (set ${config.tokenEnv} or token)` }
  let response: Response
  try {
    response = await fetch(`${base}/bot/me`, {
      headers: { authorization: `Bearer ${tokenOf(config)}` },
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    return {
      ok: false,
      problem: `cannot reach Loop at ${base} (${error instanceof Error ? error.message : String(error)})`,
    }
  }
  if (response.status === 401) return { ok: false, problem: "invalid bot token (Loop answered 401)" }
  if (!response.ok) return { ok: false, problem: `Loop answered ${response.status}` }
  const me = (await response.json()) as { id: string; name: string }
  return { ok: true, identity: `Loop bot ${me.name} (${me.id})` }
}

async function startLoop(ctx: PluginChannelHost<Settings>) {
  const { config, log } = ctx
  const base = baseOf(config)
  const token = tokenOf(config)
  const halt = new AbortController()
  /** A wait that stop() ends at once. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      halt.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer)
          resolve()
        },
        { once: true },
      )
    })

  /** One API call; a 429 waits `retry_after` and tries again (three times). */
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: path.startsWith("/bot/events") ? halt.signal : AbortSignal.timeout(15_000),
      })
      const json = (await response.json().catch(() => ({}))) as T & { error?: string; retry_after?: number }
      if (response.ok) return json
      if (response.status === 429 && attempt < 4) {
        await pause(json.retry_after ?? 1000)
        continue
      }
      throw new LoopError(response.status, json)
    }
  }
  const post = (conversation: string, text: string, buttons?: ChannelButton[][]) =>
    call<{ id: string }>("POST", "/bot/messages", { conversation, text, buttons })
  const edit = (id: string, text: string, buttons?: ChannelButton[][] | { label: string; data: string }[][]) =>
    call("POST", `/bot/messages/${id}`, { text, buttons })

  /** An attachment's bytes from Loop, refused past `maxBytes` (the stated length, then what arrives). */
  const download = async (id: string, limits: { maxBytes: number }): Promise<Uint8Array> => {
    const response = await fetch(`${base}/bot/files/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(60_000),
    })
    if (!response.ok) throw new LoopError(response.status, {})
    if (Number(response.headers.get("content-length") ?? 0) > limits.maxBytes) {
      await response.body?.cancel()
      throw new Error(`the file is larger than ${limits.maxBytes} bytes`)
    }
    const bytes = new Uint8Array(await response.arrayBuffer())
    if (bytes.length > limits.maxBytes) throw new Error(`the file is larger than ${limits.maxBytes} bytes`)
    return bytes
  }

  const surface = (conversation: string): ChannelReplySurface => ({
    limits: { messageChars: MESSAGE_CHARS, editIntervalMs: config.editIntervalMs, format: "plain", edits: true },
    post: (chunk) => post(conversation, chunk.plain),
    edit: async (message, chunk) => void (await edit(message.id, chunk.plain)),
    render,
    classify: (error) =>
      error instanceof LoopError && error.status === 404
        ? "missing"
        : error instanceof LoopError && error.body.error === "not modified"
          ? "not-modified"
          : "other",
  })

  // start() returns at once: the gateway does not wait for Loop. The live check first: a bad token is a
  // health problem (`loop: …` in /status), not a retry loop.
  const boot = async () => {
    let me: { id: string; name: string } | null = null
    while (!me && !halt.signal.aborted) {
      try {
        me = await call<{ id: string; name: string }>("GET", "/bot/me")
      } catch (error) {
        if (error instanceof LoopError && error.status === 401)
          return ctx.health("invalid bot token (Loop answered 401)")
        if (halt.signal.aborted) return
        ctx.health(`cannot reach Loop at ${base} (${error instanceof Error ? error.message : String(error)})`)
        await pause(1000)
      }
    }
    if (!me) return
    ctx.health(null)
    log.info("loop bot ready", { bot: me.id })
    const endpoint = ctx.serve<{ id: string; text: string }>({
      scope: me.id,
      access: {
        allowedUsers: config.allowedUsers,
        pairing: config.pairing,
        groups: {
          enabled: config.groups?.enabled ?? false,
          allowed: config.groups?.allowed ?? [],
          members: config.groups?.members ?? "allowed",
          spaces: (config.groups?.spaces ?? []).map((space) => ({
            id: space.id,
            groups: space.groups ?? [],
            members: space.members ?? "allowed",
          })),
        },
      },
      surface,
      post: (conversation, text) => post(conversation, text),
      messageChars: MESSAGE_CHARS,
      fetch: download,
      // Spoken answers (voice.speak), after their text.
      postVoice: (conversation, audio) =>
        call("POST", "/bot/voice", {
          conversation,
          type: audio.mediaType,
          name: audio.fileName,
          data: base64(audio.bytes),
        }),
      approvals: {
        show: async (conversation, request, text) => ({
          id: (await post(conversation, text, ctx.approvalButtons(request.id))).id,
          text,
        }),
        settle: async (ref, _decision, outcome) => void (await edit(ref.id, ref.text, [[outcome]])),
      },
    })

    // Long poll after the stored cursor; each event is handed to the host BEFORE the cursor moves past it,
    // so a crash loses nothing (and the inbox refuses what the old cursor hands again).
    const stored = await ctx.state.get<{ bot: string; cursor: number }>("cursor")
    let cursor = stored?.bot === me.id ? stored.cursor : 0
    while (!halt.signal.aborted) {
      try {
        const { events, cursor: next } = await call<{ events: LoopEvent[]; cursor: number }>(
          "GET",
          `/bot/events?after=${cursor}&wait=1000`,
        )
        for (const event of events) {
          if (event.type === "message")
            await endpoint.receive({
              eventId: event.id,
              conversation: event.conversation,
              user: event.user,
              // A group message names its group (a thread's: the group it is in) and space; the host
              // judges it by the groups rules.
              ...(event.group !== undefined
                ? { place: "group", group: event.group, space: event.space, addressed: event.mentioned === true }
                : { place: "dm", addressed: true }),
              text: event.text,
              ...attached(event.files),
              title: `Loop: @${event.user.name}`,
            })
          else if (event.type === "press") {
            const answer = await endpoint.press({
              data: event.data,
              userId: event.user.id,
              conversation: event.conversation,
            })
            if (answer.refused) log.warn("approval press refused", { user: event.user.id })
          } else {
            // A command is answered once the cursor is past it: Loop does not send it again.
            const conversation = event.conversation
            void endpoint
              .command({ conversation, userId: event.user.id, line: event.line })
              .then((reply) =>
                post(conversation, (reply?.text ?? `Unknown command ${event.line}`).slice(0, MESSAGE_CHARS)),
              )
              .catch((error) => log.warn("a command failed", { error: String(error) }))
          }
        }
        if (next !== cursor) await ctx.state.set("cursor", { bot: me.id, cursor: next })
        cursor = next
      } catch (error) {
        if (halt.signal.aborted) break
        // Loop no longer knows the cursor (its log was reset): read from the start; the inbox drops repeats.
        if (error instanceof LoopError && error.status === 409) cursor = 0
        log.warn("polling Loop failed", { error: String(error) })
        await pause(500)
      }
    }
  }
  const running = boot().catch((error) => log.error("the Loop channel failed", { error: String(error) }))

  return {
    async stop() {
      halt.abort()
      await running
    },
  }
}

export default definePlugin<Settings>({
  name: "plugin-channel-loop",
  version: "1.0.0",
  description: "The Loop chat platform as a Drost channel",
  config: Settings,
  channels: [{ name: "loop", start: startLoop, check: checkLoop }],
})
