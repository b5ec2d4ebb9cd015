/**
 * `drost chat`: the terminal channel attached to a gateway that is already running (as a service, say)
 * over the Control API — plain HTTP and SSE, so a person drops in and out while the gateway keeps
 * running. Answers stream as they arrive; slash commands run in the gateway (POST /control/v1/commands),
 * through the same registry as `drost start`'s chat and Telegram, so they answer the same everywhere.
 * The session chosen with /session or /new is remembered for the next attach (and `drost start`).
 * Without a terminal it reads one message per stdin line and exits at the end of input (scriptable).
 */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { createInterface } from "node:readline"
import type { Decided, Pending } from "../approval/approval.ts"
import { findConfig, load } from "../gateway/load.ts"
import { tokenFile } from "../gateway/token.ts"
import { Flag } from "../util/flag.ts"
import { createAsker, decidedLine, questionOf } from "./approval-prompt.ts"
import { chooseSession, chosenSession } from "./chat-choice.ts"
import { discardTyped, QUIT_WINDOW_MS } from "./chat-screen.ts"

export interface AttachOptions {
  workspace: string
  config?: string
  /** Gateway base URL, e.g. http://127.0.0.1:7420 (default: from the workspace config). */
  url?: string
  token?: string
  session?: string
  /** Start a new session instead of resuming the last terminal one. */
  new?: boolean
}

const ATTACHED_TITLE = "terminal (attached)"
const paint = (code: number) => (text: string) =>
  Flag.noColor() || !process.stdout.isTTY ? text : `\x1b[${code}m${text}\x1b[0m`
const dim = paint(2)
const cyan = paint(36)
const red = paint(31)

interface Session {
  id: string
  title: string
  updatedAt: number
  messageCount: number
  provider: string
}

class AttachError extends Error {}

export async function endpoint(options: AttachOptions): Promise<{ url: string; token: string; stateDir: string }> {
  const root = resolve(options.workspace)
  const config =
    options.url && options.token
      ? null
      : findConfig(root) || options.config
        ? await load({ root, file: options.config })
        : null
  const stateDir = config?.stateDir ?? join(root, ".drost")
  const port = config?.controlApi.port ?? 7420
  const url = options.url ?? (port === 0 ? null : `http://${config?.controlApi.host ?? "127.0.0.1"}:${port}`)
  if (!url)
    throw new AttachError(
      "controlApi.port is 0 (a random port); pass --url http://127.0.0.1:<port> from the gateway's start line",
    )
  const file = tokenFile(stateDir)
  const token =
    options.token ??
    config?.controlApi.token ??
    Flag.controlAdminToken() ??
    (existsSync(file) ? readFileSync(file, "utf8").trim() : undefined)
  if (!token)
    throw new AttachError(
      `no Control API token: pass --token, set DROST_CONTROL_ADMIN_TOKEN, or run in the gateway's workspace (${file})`,
    )
  return { url: url.replace(/\/+$/, ""), token, stateDir }
}

/** Parses a text/event-stream body into events; `opened` runs once the first bytes arrived. */
async function* events(
  response: Response,
  opened?: () => void,
): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    opened?.()
    if (done) return
    buffer += value
    for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      let event = "message"
      const data: string[] = []
      for (const line of block.split("\n")) {
        // The gateway's greeting names the newest event id: where a reconnect resumes (?since=).
        const greeting = line.match(/^: connected, last id (\d+)/)
        if (greeting) yield { event: "connected", data: { id: Number(greeting[1]) } }
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
      }
      if (data.length === 0) continue
      try {
        yield { event, data: JSON.parse(data.join("\n")) as Record<string, unknown> }
      } catch {
        yield { event, data: { text: data.join("\n") } }
      }
    }
  }
}

const preview = (value: unknown, max = 80) => {
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

export async function attachChat(options: AttachOptions): Promise<number> {
  const out = process.stdout
  const { url, token, stateDir } = await endpoint(options)
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/control/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((error: Error) => {
      throw new AttachError(
        `no gateway answers at ${url} (${error.message}); start one with \`drost start\` or \`drost service install\``,
      )
    })
    const payload = (await response.json().catch(() => ({}))) as T & { message?: string }
    if (!response.ok) throw new AttachError(`${method} ${path}: ${response.status} ${payload.message ?? ""}`.trim())
    return payload
  }
  const latest = async (query: string) =>
    (await call<{ sessions: Session[] }>("GET", `/sessions?limit=1&${query}`)).sessions[0]
  const create = () => call<Session>("POST", "/sessions", { title: ATTACHED_TITLE })
  const fetchSession = async (id: string) =>
    (await call<{ session: Session }>("GET", `/sessions/${encodeURIComponent(id)}?limit=1`)).session
  // The terminal's remembered choice (/session, /new), when the gateway still has that session.
  const chosen = chosenSession(stateDir)
  const remembered = chosen ? await fetchSession(chosen).catch(() => null) : null
  let session: Session = options.session
    ? await fetchSession(options.session)
    : options.new
      ? await create()
      : (remembered ??
        [await latest("channel=terminal"), await latest(`q=${encodeURIComponent(ATTACHED_TITLE)}`)]
          .filter((found): found is Session => Boolean(found))
          .sort((a, b) => b.updatedAt - a.updatedAt)[0] ??
        (await create()))
  if (options.session || options.new) chooseSession(stateDir, session.id)
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY)
  if (interactive) {
    out.write(
      dim(
        `Attached to ${url} · session ${session.id} (${session.messageCount} messages) · provider ${session.provider}\n`,
      ),
    )
    out.write(
      dim(
        "Type a message, or /help. Ctrl-C or /stop aborts a running turn; /quit, Ctrl-D or Ctrl-C twice at the prompt detaches (the gateway keeps running).\n",
      ),
    )
  }

  // Approvals of this session (tools.approve): asked on the next line typed; announced without a terminal.
  // Opened before the line reader: piped lines that arrive before the loop reads them would be lost.
  const asker = createAsker({
    write: (text) => out.write(text),
    // rl exists by the time anything is asked: it is created right after the stream opened.
    question: (text, signal) => questionOf(rl)(text, signal),
    decide: async (id, choice) => decidedLine(await call<Decided>("POST", `/approvals/${id}`, { decision: choice })),
  })
  const watch = new AbortController()
  const watching = new Promise<void>((ready) => {
    ;(async () => {
      // The stream ends when the gateway restarts (/restart): reconnect, resuming after the last event.
      let since: number | null = null
      while (!watch.signal.aborted) {
        try {
          const query: string = `type=approval.requested,approval.decided${since === null ? "" : `&since=${since}`}`
          const response: Response = await fetch(`${url}/control/v1/events?${query}`, {
            headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
            signal: watch.signal,
          })
          if (!response.ok) return ready()
          // The first bytes come after the gateway subscribed: from then on no approval is missed.
          for await (const { event, data } of events(response, ready)) {
            const id: unknown = data.id
            if (typeof id === "number") since = id
            const payload = (data as { data: Pending & Decided }).data
            if (payload?.sessionId !== session.id) continue
            if (event === "approval.requested") {
              if (interactive) asker.add(payload)
              else
                out.write(
                  `approval ${payload.id}: ${payload.tool} ${preview(payload.args)} waits for a person; decide with POST /control/v1/approvals/${payload.id} or in Telegram\n`,
                )
            } else if (event === "approval.decided") {
              if (interactive) asker.settled(payload)
              else out.write(decidedLine(payload))
            }
          }
        } catch {
          ready() // no gateway (yet): the first command or turn says so
        }
        if (!watch.signal.aborted) await Bun.sleep(1000)
      }
    })().catch(() => ready())
  })
  await Promise.race([watching, Bun.sleep(2000)])

  let running: AbortController | null = null
  const rl = createInterface({
    input: process.stdin,
    output: interactive ? out : undefined,
    prompt: cyan("you › "),
    terminal: interactive,
  })
  let armed = Number.NEGATIVE_INFINITY
  rl.on("SIGINT", () => {
    if (running) return void call("POST", `/sessions/${session.id}/abort`).catch(() => {})
    if (discardTyped(rl)) {
      out.write("\n")
      return rl.prompt()
    }
    if (Date.now() - armed < QUIT_WINDOW_MS) return rl.close()
    armed = Date.now()
    out.write(`\n${dim("(no turn is running: press Ctrl-C again to detach, or type /quit)")}\n`)
    rl.prompt()
  })

  // Slash commands run in the gateway, the same registry and text as every other chat.
  const command = async (line: string): Promise<{ text: string; quit: boolean }> => {
    const reply = await call<{ text: string; quit: boolean; sessionId: string | null }>("POST", "/commands", {
      line,
      sessionId: session.id,
      channel: "terminal",
      ...(interactive && out.columns ? { width: Math.max(20, out.columns) } : {}),
    })
    if (reply.sessionId && reply.sessionId !== session.id) {
      session = await fetchSession(reply.sessionId)
      chooseSession(stateDir, session.id)
    }
    return { text: reply.text, quit: reply.quit }
  }

  const turn = async (input: string): Promise<boolean> => {
    running = new AbortController()
    try {
      const response = await fetch(`${url}/control/v1/sessions/${session.id}/turn`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ input }),
        signal: running.signal,
      })
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { message?: string }
        out.write(`${red(`${response.status}: ${body.message ?? "the gateway refused the turn"}`)}\n`)
        return false
      }
      if (interactive) out.write(cyan("drost › "))
      let ok = false
      for await (const { event, data } of events(response)) {
        if (event === "session.turn.delta") out.write(String(data.text ?? ""))
        else if (event === "tool.call.started") out.write(`\n${dim(`  ⚙ ${data.name} ${preview(data.args)}`)}\n`)
        else if (event === "tool.call.completed")
          out.write(`${dim(`  ${data.isError ? "✗" : "✓"} ${data.name} · ${data.durationMs} ms`)}\n`)
        else if (event.startsWith("turn.")) {
          if (event === "turn.completed") ok = true
          else if (event !== "turn.accepted")
            out.write(`\n${red(`[turn ${data.status ?? event.slice(5)}: ${data.reason ?? ""}]`)}`)
        }
      }
      out.write("\n")
      return ok
    } finally {
      running = null
    }
  }

  let failures = 0
  let turns: Promise<void> = Promise.resolve()
  let quit = false
  if (interactive) rl.prompt()
  for await (const line of rl) {
    const input = line.trim()
    armed = Number.NEGATIVE_INFINITY // a line typed since the first Ctrl-C: the next one warns again
    if (input.startsWith("/")) {
      const reply = await command(input).catch((error: Error) => ({ text: red(error.message), quit: false }))
      if (reply.quit) {
        quit = true
        break
      }
      out.write(`${reply.text}\n`)
    } else if (input) {
      const run = () =>
        turn(input)
          .catch((error: Error) => {
            out.write(`${red(error.message)}\n`)
            return false
          })
          .then((ok) => {
            if (!ok) failures++
            if (interactive) rl.prompt()
          })
      // At a terminal the next line is read while the turn runs, so /stop and /status answer at once;
      // turns still go one after another. A script's lines stay strictly sequential.
      if (interactive) turns = turns.then(run)
      else await run()
    }
    // After a message the prompt comes back with its answer (lines typed meanwhile are still read).
    if (interactive && (!input || input.startsWith("/"))) rl.prompt()
  }
  // Input ended (a script): its turns finish first. /quit detaches at once (the gateway keeps them).
  if (!quit) await turns
  watch.abort()
  rl.close()
  if (interactive) out.write(dim("Detached; the gateway keeps running.\n"))
  return failures === 0 ? 0 : 1
}

export { AttachError }
